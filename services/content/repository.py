"""The content read model's SQL (migrations/001_content.sql), on a transaction's cursor."""
import json

from helpdesk.projections import Rebuild

from . import domain, search

COLUMNS = {  # kind -> (shown_from, shown_until) keys of its state
    "announcement": ("publish_at", None), "download": ("publish_at", None), "incident": ("started_at", "ended_at"),
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


# What a reader may find: announcements and downloads shown now to everyone or to the customers of
# one of the reader's services (domain.visible_to), every incident, windows not cancelled.
FINDABLE = ("((kind IN ('announcement', 'download') AND status = 'published' AND shown_from <= %(now)s"
            " AND (state->'audience' = 'null'::jsonb OR state->'audience' ?| %(services)s)) OR kind = 'incident'"
            " OR (kind = 'maintenance' AND status = 'scheduled'))")


def find(cur, words, now, limit=20, services=()):
    """Documents a reader using `services` may find with any of `words` (folded), best first:
    [(state, rank, text)], `text` the words for the snippet."""
    if not words:
        return []
    query = " || ".join(f"plainto_tsquery('spanish', %(w{i})s) || plainto_tsquery('english', %(w{i})s)"
                        for i in range(len(words)))
    cur.execute(
        f"SELECT state, ts_rank_cd(search, q) AS rank, body_text FROM content.documents, ({'SELECT ' + query} AS q) AS asked"  # noqa: S608
        f" WHERE search @@ q AND {FINDABLE} ORDER BY rank DESC, shown_from DESC NULLS LAST, id LIMIT %(limit)s",
        {**{f"w{i}": word for i, word in enumerate(words)}, "now": now, "limit": limit, "services": list(services)})
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


# -- the files of downloads (migrations/004_downloads.sql) and their tally ---------------------

FILE_COLUMNS = ("file_id", "download_id", "name", "size", "content_type", "sha256", "complete")


def start_file(cur, file_id, download_id, name, size, now):
    cur.execute("INSERT INTO content.files (file_id, download_id, name, size, started_at) VALUES (%s, %s, %s, %s, %s)",
                (str(file_id), str(download_id), name, size, now))


def file(cur, file_id):
    cur.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM content.files WHERE file_id = %s", (str(file_id),))  # noqa: S608
    row = cur.fetchone()
    return dict(zip(FILE_COLUMNS, (str(row[0]), str(row[1]), *row[2:]))) if row else None


def put_piece(cur, file_id, piece, data):
    """A piece sent again (a retried request) replaces the one received."""
    cur.execute("INSERT INTO content.file_pieces (file_id, piece, data) VALUES (%s, %s, %s)"
                " ON CONFLICT (file_id, piece) DO UPDATE SET data = EXCLUDED.data", (str(file_id), piece, data))


def piece(cur, file_id, index):
    cur.execute("SELECT data FROM content.file_pieces WHERE file_id = %s AND piece = %s", (str(file_id), index))
    row = cur.fetchone()
    return bytes(row[0]) if row else None


def received(cur, file_id):
    """(pieces, bytes) received of a file."""
    cur.execute("SELECT count(*), coalesce(sum(octet_length(data)), 0) FROM content.file_pieces WHERE file_id = %s",
                (str(file_id),))
    count, size = cur.fetchone()
    return int(count), int(size)


def complete_file(cur, file_id, content_type, sha256):
    cur.execute("UPDATE content.files SET complete = true, content_type = %s, sha256 = %s WHERE file_id = %s",
                (content_type, sha256, str(file_id)))


def drop_files(cur, file_ids):
    """Files replaced or never finished, with their pieces."""
    if file_ids:
        cur.execute("DELETE FROM content.files WHERE file_id = ANY(%s::uuid[])", ([str(f) for f in file_ids],))


def files_of(cur, download_id):
    cur.execute("SELECT file_id FROM content.files WHERE download_id = %s", (str(download_id),))
    return [str(row[0]) for row in cur.fetchall()]


def abandoned_files(cur, before):
    cur.execute("SELECT file_id FROM content.files WHERE NOT complete AND started_at < %s", (before,))
    return [str(row[0]) for row in cur.fetchall()]


def count_download(cur, download_id):
    cur.execute("INSERT INTO content.download_counts (download_id, count) VALUES (%s, 1)"
                " ON CONFLICT (download_id) DO UPDATE SET count = download_counts.count + 1", (str(download_id),))


def download_counts(cur, download_ids):
    if not download_ids:
        return {}
    cur.execute("SELECT download_id, count FROM content.download_counts WHERE download_id = ANY(%s::uuid[])",
                ([str(d) for d in download_ids],))
    return {str(row[0]): int(row[1]) for row in cur.fetchall()}


class ContentRebuild(Rebuild):
    """The documents, folded again from every content event."""

    name = "content.documents"
    categories = tuple(domain.KINDS)
    tables = ("content.documents",)

    def apply(self, cur, event):
        save(cur, domain.evolve(load(cur, event.stream.split("-", 1)[1]), event))
