"""Idempotency keys: what is created is named by (user, key), so a redelivered or retried command
makes the same ids; a fingerprint tells a true repeat from a reused key."""
import uuid

import pytest

from helpdesk import idempotency
from helpdesk.events import NewEvent

USER, KEY = "5f0c7a52-0000-4000-8000-000000000001", "form-1"


def test_the_same_user_and_key_name_the_same_ticket_and_other_ones_do_not():
    ticket = idempotency.ticket_id(USER, KEY)
    assert isinstance(ticket, uuid.UUID) and ticket == idempotency.ticket_id(USER, KEY)
    assert ticket != idempotency.ticket_id(USER, "form-2")
    assert ticket != idempotency.ticket_id("another-user", KEY)


def test_events_get_ids_derived_from_user_key_stream_and_action():
    events = [NewEvent("A", {}), NewEvent("B", {})]
    first = idempotency.with_derived_ids(events, USER, KEY, "ticket-1", "urgency")
    again = idempotency.with_derived_ids(events, USER, KEY, "ticket-1", "urgency")
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2
    assert first[0].event_id == idempotency.first_event_id(USER, KEY, "ticket-1", "urgency")
    assert [e.type for e in first] == ["A", "B"]
    other = idempotency.with_derived_ids(events, USER, KEY, "ticket-2", "urgency")
    assert not {e.event_id for e in first} & {e.event_id for e in other}


def test_the_fingerprint_ignores_key_order_and_sees_every_difference():
    a = idempotency.fingerprint("open", None, {"title": "x", "cc": ["a@b.es"]})
    assert a == idempotency.fingerprint("open", None, {"cc": ["a@b.es"], "title": "x"})
    assert a != idempotency.fingerprint("open", None, {"title": "y", "cc": ["a@b.es"]})
    assert a != idempotency.fingerprint("comments", "t1", {"title": "x", "cc": ["a@b.es"]})
    assert idempotency.fingerprint("close", "t1", {}, 3) != idempotency.fingerprint("close", "t1", {}, 4)


@pytest.mark.parametrize("key", ["a", "x" * 200, "550e8400-e29b-41d4-a716-446655440000", "a b~!"])
def test_printable_ascii_keys_of_1_to_200_characters_are_valid(key):
    assert idempotency.valid_key(key)


@pytest.mark.parametrize("key", ["", "x" * 201, "ñ", "a\nb", "a\tb", "\x00", None, 5])
def test_other_keys_are_not(key):
    assert not idempotency.valid_key(key)


def test_the_openapi_document_tells_how_to_retry_ticket_commands_safely():
    from services.gateway.openapi import build_spec
    paths = build_spec("http://localhost")["paths"]
    for path in ["/api/v1/tickets", "/api/v1/tickets/{ticket_id}/comments", "/api/v1/tickets/{ticket_id}/merge"]:
        post = paths[path]["post"]
        assert "Idempotency-Key" in [parameter.get("name") for parameter in post["parameters"]], path
        assert "may or may not have been done" in post["responses"]["503"]["description"]
