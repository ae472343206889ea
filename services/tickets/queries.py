"""Reading the `ticket_summaries` read model: lists, queues, search. Keyset pagination on the
arrival position, so pages stay stable while tickets are opened or updated meanwhile."""
import base64

from helpdesk import contracts

from . import domain
from .access import SEE_ALL

SUMMARY_COLUMNS = ("ticket_id", "reference", "title", "status", "department", "urgency", "itil_type",
                   "itil_category", "requester_email", "requester_name", "assignee_id", "assignee_name", "channel", "opened_at",
                   "updated_at", "arrival")
MAX_LIMIT = contracts.PAGE_MAX


class BadCursor(Exception):
    """A cursor this API did not give."""


def encode_cursor(arrival):
    return base64.urlsafe_b64encode(str(arrival).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise BadCursor(cursor)


def visibility(principal):
    """SQL condition + args for the tickets `principal` may see: the same rules as access.can_see."""
    role = principal["role"]
    if role in SEE_ALL:
        return "TRUE", []
    if role == "agent":
        return "department = ANY(%s)", [list(principal["departments"])]
    conditions, args = ["requester_id = %s", "%s = ANY(cc)"], [principal["user_id"], principal["email"].lower()]
    if principal.get("company_id") and (principal.get("is_group") or principal.get("company_admin")):
        conditions.append("company_id = %s")
        args.append(principal["company_id"])
    return "(" + " OR ".join(conditions) + ")", args


def _page(cur, where, args, order, limit, cursor):
    limit = max(1, min(int(limit or 25), MAX_LIMIT))
    if cursor:
        where.append("arrival < %s" if order == "DESC" else "arrival > %s")
        args.append(decode_cursor(cursor))
    cur.execute(
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM tickets.ticket_summaries"  # noqa: S608 (fixed SQL)
        f" WHERE {' AND '.join(where)} ORDER BY arrival {order} LIMIT %s", (*args, limit + 1))
    rows = [dict(zip(SUMMARY_COLUMNS, row)) for row in cur.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    for item in rows:
        item["ticket_id"] = str(item["ticket_id"])
        item["opened_at"] = item["opened_at"].isoformat()
        item["updated_at"] = item["updated_at"].isoformat()
    return {"items": rows, "next_cursor": encode_cursor(rows[-1]["arrival"]) if more else None}


def list_tickets(cur, principal, status=None, department=None, text=None, scope="all", limit=25, cursor=None):
    """Tickets the principal may see, newest first. `scope="mine"`: only those they requested."""
    condition, args = visibility(principal)
    where = [condition]
    if scope == "mine":
        where.append("requester_id = %s")
        args.append(principal["user_id"])
    if status == "open":
        where.append("status = ANY(%s)")
        args.append(sorted(domain.NOT_CLOSED))
    elif status:
        _equal(where, args, "status", status)
    _equal(where, args, "department", department)
    _text(where, args, text)
    return _page(cur, where, args, "DESC", limit, cursor)


def _equal(where, args, column, value):
    """`column = value`, when a value is given (`column` is one of ours, never the caller's)."""
    if value:
        where.append(f"{column} = %s")
        args.append(value)


def _text(where, args, text):
    """A title or description containing `text` (a literal, wildcards escaped), or its reference."""
    if text:
        where.append("(title ILIKE %s OR description ILIKE %s OR reference = %s)")
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        args += [pattern, pattern, "#" + text.strip().lstrip("#")]


def queue(cur, department, statuses=None, status=None, urgency=None, assignee=None, text=None, limit=25,
          cursor=None):
    """A department's open tickets in arrival order (oldest first); `assignee`: a user id, or
    NOBODY for the unassigned."""
    where = ["department = %s", "status = ANY(%s)"]
    args = [department, sorted(statuses or domain.OPEN)]
    _equal(where, args, "status", status)
    _equal(where, args, "urgency", urgency)
    if assignee == NOBODY:
        where.append("assignee_id IS NULL")
    elif assignee:
        where.append("assignee_id::text = %s")
        args.append(str(assignee))
    _text(where, args, text)
    return _page(cur, where, args, "ASC", limit, cursor)


def loads(cur):
    """Open tickets per assignee, and those nobody took per department: supervisors' balance."""
    cur.execute("SELECT assignee_id::text, department, count(*) FROM tickets.ticket_summaries"
                " WHERE status = ANY(%s) GROUP BY 1, 2", (sorted(domain.OPEN),))
    return _loads(cur.fetchall())


def _loads(rows):
    agents, unassigned = {}, {}
    for assignee, department, count in rows:
        if assignee:
            agents[assignee] = agents.get(assignee, 0) + count
        else:
            unassigned[department] = unassigned.get(department, 0) + count
    return {"agents": agents, "unassigned": unassigned}


NOBODY = "none"  # the queue filter's assignee for tickets nobody has taken
