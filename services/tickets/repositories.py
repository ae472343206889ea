"""The tickets service's tables behind the unit of work (helpdesk.application): on PostgreSQL,
each repository takes the transaction's cursor; in memory, the same methods over dicts
(tests/contract/test_ticket_repositories.py holds both to one contract)."""
import collections
import dataclasses
import datetime as dt
import hashlib
import itertools
import uuid

from helpdesk.application import InMemoryTable
from helpdesk.db import later_values
from helpdesk.idempotency import RETENTION_HOURS

from . import answers, attachments, domain, limits, projection, queries
from .access import SEE_ALL


# -- PostgreSQL -----------------------------------------------------------------------------------

class Summaries:
    """The `ticket_summaries` read model: saved with each append, read by lists and queues."""

    def __init__(self, cur):
        self.cur = cur

    def save(self, ticket, arrival):
        projection.save(self.cur, ticket, arrival)

    def arrival_of(self, ticket_id):
        return projection.arrival_of(self.cur, ticket_id)

    def list_tickets(self, principal, **filters):
        return queries.list_tickets(self.cur, principal, **filters)

    def queue(self, department, **filters):
        return queries.queue(self.cur, department, **filters)

    def loads(self):
        return queries.loads(self.cur)


class Attachments:
    def __init__(self, cur):
        self.cur = cur

    def save(self, ticket_id, attachment, content, internal=False):
        attachments.save(self.cur, ticket_id, attachment, content, internal)

    def load(self, ticket_id, attachment_id):
        return attachments.load(self.cur, ticket_id, attachment_id)


class Answers:
    """Remembered answers of commands sent with an Idempotency-Key."""

    def __init__(self, cur):
        self.cur = cur

    def recall(self, user_id, key):
        return answers.recall(self.cur, user_id, key)

    def remember(self, user_id, key, fingerprint, answer):
        answers.remember(self.cur, user_id, key, fingerprint, answer)

    def forget_expired(self):
        return answers.forget_expired(self.cur)


class RateUsage:
    """What each rate-limit key used, with when (tickets.rate_usage)."""

    def __init__(self, cur):
        self.cur = cur

    def counted(self, queries):
        """{key: limits.Counted}: each key's usage within its window, for the command's items
        ({key: (since, items, maximum)}), summed up in the database (a busy key holds an hour of
        items). Each key stays locked until the transaction ends (taken in key order, so two
        commands never deadlock); older counts are forgotten on the way. One round trip."""
        keys = sorted(queries)
        locks = "".join("SELECT pg_advisory_xact_lock(hashtext(%s));" for _ in keys)
        expired = ", ".join("(%s::text, %s::timestamptz)" for _ in keys)  # typed: prepared (helpdesk.db)
        summary = " UNION ALL ".join(  # each key counted once (a busy key is thousands of rows)
            "SELECT %s::text, c.total,"
            " ARRAY(SELECT item FROM tickets.rate_usage WHERE key = %s AND item = ANY(%s)),"
            " ARRAY(SELECT at FROM tickets.rate_usage WHERE key = %s ORDER BY at LIMIT %s + greatest(0, c.total - %s))"
            " FROM (SELECT count(*) AS total FROM tickets.rate_usage WHERE key = %s) AS c" for _ in keys)
        args = [f"rate {key}" for key in keys] + [value for key in keys for value in (key, queries[key][0])]
        for key in keys:
            _, items, maximum = queries[key]
            args += [key, key, list(items), key, len(items), maximum, key]
        self.cur.execute(locks + f"DELETE FROM tickets.rate_usage r USING (VALUES {expired}) AS w(key, since)"
                         " WHERE r.key = w.key AND r.at <= w.since; " + summary, args)
        return {key: limits.Counted(total, frozenset(seen), tuple(oldest))
                for key, total, seen, oldest in self.cur.fetchall()}

    def add(self, counts):
        """Counts each (key, item, at); an item already counted under its key is not counted again."""
        if counts:
            later_values(self.cur, "INSERT INTO tickets.rate_usage (key, item, at) VALUES %s ON CONFLICT DO NOTHING",
                         counts)


class Numbers:
    """Ticket references (#000001…), from a sequence: never reused, gaps allowed."""

    def __init__(self, cur):
        self.cur = cur

    def next(self):
        self.cur.execute("SELECT nextval('tickets.ticket_numbers')")
        return self.cur.fetchone()[0]


POSTGRES = {"summaries": Summaries, "attachments": Attachments, "answers": Answers, "rates": RateUsage,
            "numbers": Numbers}


# -- in memory ------------------------------------------------------------------------------------

def _has_text(row, text):
    """queries._text in memory."""
    needle = text.lower()
    return (needle in row["title"].lower() or needle in row["description"].lower()
            or row["reference"] == "#" + text.strip().lstrip("#"))


class InMemorySummaries(InMemoryTable):
    """ticket_id -> the row `projection.row` makes, as a dict; lists and queues by the same rules
    as queries.py's SQL."""

    def save(self, ticket, arrival):
        row = dict(zip(projection.COLUMNS, projection.row(ticket, arrival)))
        previous = self.rows.get(ticket.ticket_id)
        if previous is not None:
            row["arrival"] = previous["arrival"]
        self.rows[ticket.ticket_id] = row

    def arrival_of(self, ticket_id):
        found = self.rows.get(ticket_id if isinstance(ticket_id, uuid.UUID) else uuid.UUID(str(ticket_id)))
        return found["arrival"] if found else None

    def list_tickets(self, principal, status=None, department=None, text=None, scope="all", limit=25, cursor=None):
        def wanted(row):
            if not _visible(principal, row):
                return False
            if scope == "mine" and str(row["requester_id"]) != principal["user_id"]:
                return False
            if status == "open" and row["status"] not in domain.NOT_CLOSED:
                return False
            if status and status != "open" and row["status"] != status:
                return False
            if department and row["department"] != department:
                return False
            return not text or _has_text(row, text)
        return self._page(wanted, descending=True, limit=limit, cursor=cursor)

    def queue(self, department, statuses=None, status=None, urgency=None, assignee=None, text=None, limit=25,
              cursor=None):
        statuses = set(statuses or domain.OPEN)

        def wanted(row):
            if row["department"] != department or row["status"] not in statuses:
                return False
            if (status and row["status"] != status) or (urgency and row["urgency"] != urgency):
                return False
            if assignee == queries.NOBODY and row["assignee_id"] is not None:
                return False
            if assignee and assignee != queries.NOBODY and str(row["assignee_id"]) != str(assignee):
                return False
            return not text or _has_text(row, text)
        return self._page(wanted, descending=False, limit=limit, cursor=cursor)

    def loads(self):
        counts = collections.Counter((str(row["assignee_id"]) if row["assignee_id"] else None, row["department"])
                                     for row in self.rows.values() if row["status"] in domain.OPEN)
        return queries._loads((assignee, department, count) for (assignee, department), count in counts.items())

    def _page(self, wanted, descending, limit, cursor):
        limit = max(1, min(int(limit or 25), queries.MAX_LIMIT))
        rows = sorted((row for row in self.rows.values() if wanted(row)), key=lambda row: row["arrival"],
                      reverse=descending)
        if cursor:
            after = queries.decode_cursor(cursor)
            rows = [row for row in rows if (row["arrival"] < after if descending else row["arrival"] > after)]
        page = [dict({c: row[c] for c in queries.SUMMARY_COLUMNS}, ticket_id=str(row["ticket_id"]),
                     opened_at=row["opened_at"].isoformat(), updated_at=row["updated_at"].isoformat())
                for row in rows[:limit]]
        more = len(rows) > limit
        return {"items": page, "next_cursor": queries.encode_cursor(page[-1]["arrival"]) if more else None}


def _visible(principal, row):
    """access.can_see, on a summary row (the SQL of queries.visibility, in Python)."""
    role = principal["role"]
    if role in SEE_ALL:
        return True
    if role == "agent":
        return row["department"] in principal["departments"]
    if str(row["requester_id"]) == principal["user_id"] or principal["email"].lower() in row["cc"]:
        return True
    company = principal.get("company_id")
    return bool(company and (principal.get("is_group") or principal.get("company_admin"))
                and str(row["company_id"]) == str(company))


class InMemoryAttachments(InMemoryTable):
    """attachment_id -> (ticket_id, Attachment, internal, bytes)."""

    def save(self, ticket_id, attachment, content, internal=False):
        if len(content) != attachment.size or hashlib.sha256(content).hexdigest() != attachment.sha256:
            raise ValueError("the content is not the one this attachment describes")
        if str(attachment.attachment_id) in self.rows:
            raise ValueError(f"attachment {attachment.attachment_id} exists")
        self.rows[str(attachment.attachment_id)] = (str(ticket_id), attachment, internal, bytes(content))

    def load(self, ticket_id, attachment_id):
        try:
            ticket_id, attachment_id = uuid.UUID(str(ticket_id)), uuid.UUID(str(attachment_id))
        except ValueError:
            return None
        found = self.rows.get(str(attachment_id))
        if found is None or found[0] != str(ticket_id):
            return None
        _, attachment, internal, content = found
        return dataclasses.replace(attachment, attachment_id=attachment_id), internal, content


class InMemoryAnswers(InMemoryTable):
    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def recall(self, user_id, key):
        found = self.rows.get((user_id, key))
        if found is None or found[2] <= self.clock() - dt.timedelta(hours=RETENTION_HOURS):
            return None
        return found[0], found[1]

    def remember(self, user_id, key, fingerprint, answer):
        self.rows[(user_id, key)] = (fingerprint, answer, self.clock())

    def forget_expired(self):
        horizon = self.clock() - dt.timedelta(hours=RETENTION_HOURS)
        expired = [key for key, (_, _, at) in self.rows.items() if at < horizon]
        for key in expired:
            del self.rows[key]
        return len(expired)


class InMemoryRateUsage(InMemoryTable):
    def counted(self, queries):
        found = {}
        for key, (since, items, maximum) in queries.items():
            self.rows[key] = tuple((item, at) for item, at in self.rows.get(key, ()) if at > since)
            found[key] = limits.Counted.of(self.rows[key], items, since, maximum)
        return found

    def add(self, counts):
        for key, item, at in counts:
            if item not in {known for known, _ in self.rows.get(key, ())}:
                self.rows[key] = self.rows.get(key, ()) + ((item, at),)


class InMemoryNumbers(InMemoryTable):
    """A sequence: like PostgreSQL's, a number once taken is not given back by a rollback."""

    def __init__(self):
        super().__init__()
        self._taken = itertools.count(1)

    def next(self):
        return next(self._taken)


def in_memory(clock):
    return {"summaries": InMemorySummaries(), "attachments": InMemoryAttachments(),
            "answers": InMemoryAnswers(clock), "rates": InMemoryRateUsage(), "numbers": InMemoryNumbers()}
