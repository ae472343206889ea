"""Content's table behind the unit of work (helpdesk.application): on PostgreSQL the SQL of
repository.py; in memory the same methods over a dict (tests/contract holds both to one contract)."""
from helpdesk.application import InMemoryTable

from . import domain as content_domain
from . import repository as sql
from . import search


class Documents:
    """Every announcement, incident and maintenance window, as its folded state."""

    def __init__(self, cur):
        self.cur = cur

    def save(self, state):
        sql.save(self.cur, state)

    def load(self, document_id):
        return sql.load(self.cur, document_id)

    def listing(self, kind, statuses=None, limit=100):
        return sql.listing(self.cur, kind, statuses, limit)

    def everything(self):
        return sql.everything(self.cur)

    def incidents_since(self, moment):
        return sql.incidents_since(self.cur, moment)

    def find(self, words, now, limit=20, services=()):
        return sql.find(self.cur, words, now, limit, services)


class Files:
    """The pieces of downloads' files (downloads.py) and how often each download was fetched."""

    def __init__(self, cur):
        self.cur = cur

    def start(self, file_id, download_id, name, size, now):
        sql.start_file(self.cur, file_id, download_id, name, size, now)

    def file(self, file_id):
        return sql.file(self.cur, file_id)

    def put_piece(self, file_id, index, data):
        sql.put_piece(self.cur, file_id, index, data)

    def piece(self, file_id, index):
        return sql.piece(self.cur, file_id, index)

    def received(self, file_id):
        return sql.received(self.cur, file_id)

    def complete(self, file_id, content_type, sha256):
        sql.complete_file(self.cur, file_id, content_type, sha256)

    def drop(self, file_ids):
        sql.drop_files(self.cur, file_ids)

    def files_of(self, download_id):
        return sql.files_of(self.cur, download_id)

    def abandoned(self, before):
        return sql.abandoned_files(self.cur, before)

    def count_download(self, download_id):
        sql.count_download(self.cur, download_id)

    def counts(self, download_ids):
        return sql.download_counts(self.cur, download_ids)


POSTGRES = {"documents": Documents, "files": Files}


class InMemoryDocuments(InMemoryTable):
    def save(self, state):
        self.rows = {**self.rows, str(state["id"]): state}

    def load(self, document_id):
        return self.rows.get(str(document_id))

    def listing(self, kind, statuses=None, limit=100):
        found = [s for s in self.rows.values() if s["kind"] == kind and (not statuses or s["status"] in statuses)]
        shown = {"announcement": "publish_at", "download": "publish_at", "incident": "started_at",
                 "maintenance": "starts_at"}[kind]
        # as PostgreSQL sorts: pinned first, then the newest (unset first), then by id (stable sorts)
        found.sort(key=lambda s: s["id"])
        found.sort(key=lambda s: (s.get(shown) is None, s.get(shown) or ""), reverse=True)
        found.sort(key=lambda s: not s.get("pinned"))
        return found[:limit]

    def everything(self):
        return [self.rows[key] for key in sorted(self.rows)]

    def incidents_since(self, moment):
        found = [s for s in self.rows.values() if s["kind"] == "incident"
                 and (s["ended_at"] is None or s["ended_at"] >= moment.isoformat())]
        found.sort(key=lambda s: s["id"])
        found.sort(key=lambda s: s["started_at"], reverse=True)
        return found

    def find(self, words, now, limit=20, services=()):
        """The model of PostgreSQL's search (search.same_stem for its stemming): a document with
        any of the words, ranked by the words found, those in the title counting more."""
        found = []
        for state in self.rows.values():
            visible = (state["kind"] == "incident" or (state["kind"] == "maintenance" and state["status"] == "scheduled")
                       or (state["kind"] in ("announcement", "download") and content_domain.visible_to(state, now, services)))
            title, body = (search.words(text) for text in search.document_text(state))
            rank = sum(2 * any(search.same_stem(w, t) for t in title) + any(search.same_stem(w, b) for b in body)
                       for w in words)
            if visible and rank:
                text_title, text_body = search.document_text(state)
                found.append((state, float(rank), text_body or text_title))
        found.sort(key=lambda item: item[0]["id"])
        found.sort(key=lambda item: -item[1])
        return found[:limit]


class InMemoryFiles(InMemoryTable):
    """rows: ("file", id) -> the file's row; ("piece", id, index) -> bytes; ("count", id) -> int."""

    def start(self, file_id, download_id, name, size, now):
        if ("file", str(file_id)) in self.rows:
            raise ValueError(f"file {file_id} exists")
        self.rows = {**self.rows, ("file", str(file_id)): {
            "file_id": str(file_id), "download_id": str(download_id), "name": name, "size": size,
            "content_type": None, "sha256": None, "complete": False, "started_at": now}}

    def file(self, file_id):
        found = self.rows.get(("file", str(file_id)))
        return {name: found[name] for name in sql.FILE_COLUMNS} if found else None

    def put_piece(self, file_id, index, data):
        if ("file", str(file_id)) not in self.rows:
            raise ValueError(f"no file {file_id}")
        self.rows = {**self.rows, ("piece", str(file_id), index): bytes(data)}

    def piece(self, file_id, index):
        return self.rows.get(("piece", str(file_id), index))

    def received(self, file_id):
        found = [data for key, data in self.rows.items() if key[0] == "piece" and key[1] == str(file_id)]
        return len(found), sum(len(data) for data in found)

    def complete(self, file_id, content_type, sha256):
        key = ("file", str(file_id))
        self.rows = {**self.rows, key: dict(self.rows[key], complete=True, content_type=content_type, sha256=sha256)}

    def drop(self, file_ids):
        gone = {str(f) for f in file_ids}
        self.rows = {key: value for key, value in self.rows.items() if not (key[0] in ("file", "piece") and key[1] in gone)}

    def files_of(self, download_id):
        return [row["file_id"] for key, row in self.rows.items() if key[0] == "file" and row["download_id"] == str(download_id)]

    def abandoned(self, before):
        return [row["file_id"] for key, row in self.rows.items()
                if key[0] == "file" and not row["complete"] and row["started_at"] < before]

    def count_download(self, download_id):
        key = ("count", str(download_id))
        self.rows = {**self.rows, key: self.rows.get(key, 0) + 1}

    def counts(self, download_ids):
        return {str(d): self.rows[("count", str(d))] for d in download_ids if ("count", str(d)) in self.rows}


def in_memory():
    return {"documents": InMemoryDocuments(), "files": InMemoryFiles()}
