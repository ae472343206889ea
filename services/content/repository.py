"""The content read model's SQL (migrations/001_content.sql), on a transaction's cursor."""
import json

from helpdesk.projections import Rebuild

from . import domain

COLUMNS = {  # kind -> (shown_from, shown_until) keys of its state
    "announcement": ("publish_at", None), "incident": ("started_at", "ended_at"),
    "maintenance": ("starts_at", "ends_at"),
}


def save(cur, state):
    shown_from, shown_until = COLUMNS[state["kind"]]
    cur.execute(
        "INSERT INTO content.documents (kind, id, status, pinned, shown_from, shown_until, state, version)"
        " VALUES (%(kind)s, %(id)s, %(status)s, %(pinned)s, %(from)s, %(until)s, %(state)s, %(version)s)"
        " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, pinned = EXCLUDED.pinned,"
        " shown_from = EXCLUDED.shown_from, shown_until = EXCLUDED.shown_until, state = EXCLUDED.state,"
        " version = EXCLUDED.version",
        {"kind": state["kind"], "id": state["id"], "status": state["status"], "pinned": bool(state.get("pinned")),
         "from": state.get(shown_from), "until": state.get(shown_until) if shown_until else None,
         "state": json.dumps(state, ensure_ascii=False, sort_keys=True), "version": state["version"]})


def load(cur, document_id):
    cur.execute("SELECT state FROM content.documents WHERE id = %s", (str(document_id),))
    row = cur.fetchone()
    return row[0] if row else None


def listing(cur, kind, statuses=None, limit=100):
    """Documents of `kind` (of `statuses`, any when None): pinned first, then the newest."""
    cur.execute(
        "SELECT state FROM content.documents WHERE kind = %s AND (%s::text[] IS NULL OR status = ANY(%s))"
        " ORDER BY pinned DESC, shown_from DESC NULLS FIRST, id LIMIT %s",
        (kind, list(statuses) if statuses else None, list(statuses) if statuses else None, limit))
    return [row[0] for row in cur.fetchall()]


def everything(cur):
    """Every document, in a stable order (the rebuild's check compares them)."""
    cur.execute("SELECT state FROM content.documents ORDER BY id")
    return [row[0] for row in cur.fetchall()]


class ContentRebuild(Rebuild):
    """The documents, folded again from every content event."""

    name = "content.documents"
    categories = tuple(domain.KINDS)
    tables = ("content.documents",)

    def apply(self, cur, event):
        save(cur, domain.evolve(load(cur, event.stream.split("-", 1)[1]), event))
