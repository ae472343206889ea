"""Exactly-once commands (Idempotency-Key): pure derivations, no I/O.

A command carries a key chosen by its client (or by the gateway when none was sent). What it
creates is named by (user, key): the ticket id of an open, the event ids of a follow-up. So a
command redelivered by the broker, or retried after a 503, makes the same ids, and the event store
(NO_STREAM, unique event ids) cannot hold it twice. The fingerprint of the request tells a true
repeat (answered with the first answer) from the key reused for another request (refused).
"""
import dataclasses
import hashlib
import json
import uuid

# a fixed namespace: changing it would give retried commands new ids
NAMESPACE = uuid.UUID("8d4f6a3e-2b1c-5e7a-9f00-1d2e3c4b5a69")
KEY_MAX = 200
RETENTION_HOURS = 24  # how long a remembered answer is replayed


def valid_key(key):
    """1 to KEY_MAX printable ASCII characters (space to tilde)."""
    return isinstance(key, str) and 1 <= len(key) <= KEY_MAX and all(" " <= char <= "~" for char in key)


def derived_id(user_id, key, *scope):
    """A uuid5 of (user, key, scope): the same on every retry, distinct for anyone else's key."""
    return uuid.uuid5(NAMESPACE, "\x1f".join([str(user_id), key, *map(str, scope)]))


def ticket_id(user_id, key):
    return derived_id(user_id, key, "ticket")


def first_event_id(user_id, key, stream, action):
    """The id of the first event the command appends to `stream`: finding it there means the
    command was already done."""
    return derived_id(user_id, key, "event", stream, action, 0)


def with_derived_ids(events, user_id, key, stream, action):
    """`events` (NewEvent) renamed for the command (user, key) doing `action` on `stream`."""
    return [dataclasses.replace(event, event_id=derived_id(user_id, key, "event", stream, action, index))
            for index, event in enumerate(events)]


def fingerprint(action, ticket_id, command, expected_version=None):
    """sha256 of the request as sent (action, ticket, body, If-Match), in a canonical JSON."""
    canonical = json.dumps([action, ticket_id and str(ticket_id), command, expected_version], sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
