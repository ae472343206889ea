"""Remembered answers of commands sent with an Idempotency-Key (table remembered_answers).

`recall` takes a transaction lock on (user, key) first, so two copies of one command (a broker
redelivery and a client's retry) take turns: the second finds what the first remembered."""
import json

from psycopg2.extras import Json

from helpdesk.db import later
from helpdesk.idempotency import RETENTION_HOURS


def recall(cur, user_id, key):
    """(fingerprint, answer) remembered for (user, key) within the retention, or None."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s));"  # with the lookup: one round trip
                " SELECT fingerprint, answer FROM tickets.remembered_answers WHERE user_id = %s AND idempotency_key = %s"
                " AND remembered_at > now() - make_interval(hours => %s)",
                (f"idempotency {user_id} {key}", user_id, key, RETENTION_HOURS))
    return cur.fetchone()


def remember(cur, user_id, key, fingerprint, answer):
    """Keeps `answer` (JSON as the RPC returns it); an expired answer under the key is replaced."""
    later(cur, "INSERT INTO tickets.remembered_answers (user_id, idempotency_key, fingerprint, answer) VALUES"
               " (%s, %s, %s, %s) ON CONFLICT (user_id, idempotency_key) DO UPDATE SET"
               " fingerprint = EXCLUDED.fingerprint, answer = EXCLUDED.answer, remembered_at = now()",
               (user_id, key, fingerprint, Json(answer, dumps=lambda value: json.dumps(value, default=str))))


def forget_expired(cur):
    cur.execute("DELETE FROM tickets.remembered_answers WHERE remembered_at < now() - make_interval(hours => %s)",
                (RETENTION_HOURS,))
    return cur.rowcount
