"""The content read model's SQL (migrations/001_content.sql), on a transaction's cursor."""
import json

from helpdesk.projections import Rebuild

from . import domain, search

COLUMNS = {  # kind -> (shown_from, shown_until) keys of its state
    "announcement": ("publish_at", None), "incident": ("started_at", "ended_at"),
    "maintenance": ("starts_at", "ends_at"),
}


VECTOR = ("setweight(to_tsvector('spanish', %(title_es)s), 'A') || setweight(to_tsvector('english', %(title_en)s), 'A')"
          " || setweight(to_tsvector('spanish', %(body_es)s), 'B') || setweight(to_tsvector('english', %(body_en)s), 'B')")


def save(cur, state):
    shown_from, shown_until = COLUMNS[state["kind"]]
    texts = search.document_texts(state)
    title, body = search.document_text(state, texts)
    cur.execute(
        "INSERT INTO content.documents (kind, id, status, pinned, shown_from, shown_until, state, version, search,"
        " body_text)"
        f" VALUES (%(kind)s, %(id)s, %(status)s, %(pinned)s, %(from)s, %(until)s, %(state)s, %(version)s, {VECTOR},"
        " %(text)s)"
        " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, pinned = EXCLUDED.pinned,"
        " shown_from = EXCLUDED.shown_from, shown_until = EXCLUDED.shown_until, state = EXCLUDED.state,"
        " version = EXCLUDED.version, search = EXCLUDED.search, body_text = EXCLUDED.body_text",
        {"kind": state["kind"], "id": state["id"], "status": state["status"], "pinned": bool(state.get("pinned")),
         "from": state.get(shown_from), "until": state.get(shown_until) if shown_until else None,
         "state": json.dumps(state, ensure_ascii=False, sort_keys=True), "version": state["version"],
         "title_es": search.fold(texts["es"][0]), "title_en": search.fold(texts["en"][0]),
         "body_es": search.fold(texts["es"][1]), "body_en": search.fold(texts["en"][1]), "text": body or title})


# What anyone may find: announcements shown now to everyone, every incident, windows not cancelled.
FINDABLE = ("((kind = 'announcement' AND status = 'published' AND shown_from <= %(now)s"
            " AND state->'audience' = 'null'::jsonb) OR kind = 'incident'"
            " OR (kind = 'maintenance' AND status = 'scheduled'))")


def find(cur, words, now, limit=20):
    """Documents anyone may find with any of `words` (folded), best first: [(state, rank, text)],
    `text` the words for the snippet."""
    if not words:
        return []
    query = " || ".join(f"plainto_tsquery('spanish', %(w{i})s) || plainto_tsquery('english', %(w{i})s)"
                        for i in range(len(words)))
    cur.execute(
        f"SELECT state, ts_rank_cd(search, q) AS rank, body_text FROM content.documents, ({'SELECT ' + query} AS q) AS asked"  # noqa: S608
        f" WHERE search @@ q AND {FINDABLE} ORDER BY rank DESC, shown_from DESC NULLS LAST, id LIMIT %(limit)s",
        {**{f"w{i}": word for i, word in enumerate(words)}, "now": now, "limit": limit})
    return [(row[0], float(row[1]), row[2]) for row in cur.fetchall()]


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


def incidents_since(cur, moment):
    """Incidents open, or resolved at `moment` or later, the newest first."""
    cur.execute("SELECT state FROM content.documents WHERE kind = 'incident'"
                " AND (shown_until IS NULL OR shown_until >= %s) ORDER BY shown_from DESC, id", (moment,))
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
