"""The sla schema's tables; every function takes the caller's cursor."""
import psycopg2.extras

from helpdesk.db import later, later_values

from . import clocks, dashboard, usage


def load_clock(cur, ticket_id, lock=False):
    cur.execute("SELECT state FROM sla.clocks WHERE ticket_id = %s" + (" FOR UPDATE" if lock else ""), (ticket_id,))
    row = cur.fetchone()
    return clocks.from_json(row[0]) if row else None


def save_clock(cur, clock, calendar, fraction):
    timers = clock.timers
    later(
        cur, "INSERT INTO sla.clocks (ticket_id, state, version, first_response_due_at, resolution_due_at,"
        " next_alert_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (ticket_id) DO UPDATE SET"
        " state = EXCLUDED.state, version = EXCLUDED.version,"
        " first_response_due_at = EXCLUDED.first_response_due_at,"
        " resolution_due_at = EXCLUDED.resolution_due_at, next_alert_at = EXCLUDED.next_alert_at,"
        " updated_at = now()",
        (clock.ticket_id, psycopg2.extras.Json(clocks.to_json(clock)), clock.version,
         clocks.due_at(timers[clocks.RESPONSE], calendar), clocks.due_at(timers[clocks.RESOLUTION], calendar),
         clocks.next_alert_at(clock, calendar, fraction)))


def alerting(cur, now, limit=100):
    cur.execute("SELECT ticket_id FROM sla.clocks WHERE next_alert_at <= %s ORDER BY next_alert_at LIMIT %s",
                (now, limit))
    return [row[0] for row in cur.fetchall()]


def due_times(cur, ticket_ids):
    cur.execute("SELECT ticket_id, state, first_response_due_at, resolution_due_at FROM sla.clocks"
                " WHERE ticket_id = ANY(%s::uuid[])", (list(ticket_ids),))
    return cur.fetchall()


def all_clocks(cur):
    cur.execute("SELECT ticket_id, state FROM sla.clocks")
    return {str(ticket_id): clocks.from_json(state) for ticket_id, state in cur.fetchall()}


def load_episode(cur, ticket_id):
    cur.execute("SELECT state FROM sla.usage_episodes WHERE ticket_id = %s", (ticket_id,))
    row = cur.fetchone()
    return usage.from_json(row[0]) if row else None


def save_episode(cur, episode):
    later(cur, "INSERT INTO sla.usage_episodes (ticket_id, state) VALUES (%s, %s) ON CONFLICT (ticket_id)"
               " DO UPDATE SET state = EXCLUDED.state",
               (episode.ticket_id, psycopg2.extras.Json(usage.to_json(episode))))


# -- the supervisors' dashboard (dashboard.py) ---------------------------------------------------

_FIGURES = ", ".join(dashboard.FIELDS)
_ADD_FIGURES = (
    f"INSERT INTO sla.dashboard AS d (day, department, {_FIGURES}) VALUES %s ON CONFLICT (day, department)"
    " DO UPDATE SET " + ", ".join(f"{name} = d.{name} + EXCLUDED.{name}" for name in dashboard.FIELDS))
DASHBOARD_LOCK = "SELECT pg_advisory_xact_lock(hashtext('sla.dashboard'))"


def hold_dashboard(cur):
    """The dashboard's lock, until the transaction ends: with the next statement (it comes first)."""
    later(cur, DASHBOARD_LOCK)


def add_figures(cur, changes):
    """Adds {(day, department): Figures} to the rows (a row is made for every key given, zero or
    not), in one statement, rows in key order."""
    rows = [(day, department, *figures.values()) for (day, department), figures in sorted(changes.items())]
    if rows:
        later_values(cur, _ADD_FIGURES, rows)


def figures_between(cur, since, until):
    cur.execute(f"SELECT day, department, {_FIGURES} FROM sla.dashboard WHERE day BETWEEN %s AND %s"
                " ORDER BY day, department COLLATE \"C\"", (since, until))
    return [(day, department, dashboard.Figures(*values)) for day, department, *values in cur.fetchall()]
