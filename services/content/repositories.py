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

    def find(self, words, now, limit=20):
        return sql.find(self.cur, words, now, limit)


POSTGRES = {"documents": Documents}


class InMemoryDocuments(InMemoryTable):
    def save(self, state):
        self.rows = {**self.rows, str(state["id"]): state}

    def load(self, document_id):
        return self.rows.get(str(document_id))

    def listing(self, kind, statuses=None, limit=100):
        found = [s for s in self.rows.values() if s["kind"] == kind and (not statuses or s["status"] in statuses)]
        shown = {"announcement": "publish_at", "incident": "started_at", "maintenance": "starts_at"}[kind]
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

    def find(self, words, now, limit=20):
        """The model of PostgreSQL's search (search.same_stem for its stemming): a document with
        any of the words, ranked by the words found, those in the title counting more."""
        found = []
        for state in self.rows.values():
            visible = (state["kind"] == "incident" or (state["kind"] == "maintenance" and state["status"] == "scheduled")
                       or (state["kind"] == "announcement" and content_domain.visible_to(state, now)))
            title, body = (search.words(text) for text in search.document_text(state))
            rank = sum(2 * any(search.same_stem(w, t) for t in title) + any(search.same_stem(w, b) for b in body)
                       for w in words)
            if visible and rank:
                text_title, text_body = search.document_text(state)
                found.append((state, float(rank), text_body or text_title))
        found.sort(key=lambda item: item[0]["id"])
        found.sort(key=lambda item: -item[1])
        return found[:limit]


def in_memory():
    return {"documents": InMemoryDocuments()}
