"""SLA's tables behind the unit of work (helpdesk.application): on PostgreSQL the SQL of store.py
on the transaction's cursor; in memory the same methods over dicts (tests/contract holds both to
one contract)."""
from helpdesk.application import InMemoryTable

from . import clocks, dashboard
from . import store as sql


class Clocks:
    """Each ticket's SLA clock, with its due times and next alert (to find the due ones)."""

    def __init__(self, cur):
        self.cur = cur

    def load(self, ticket_id, lock=False):
        return sql.load_clock(self.cur, ticket_id, lock)

    def save(self, clock, calendar, fraction):
        sql.save_clock(self.cur, clock, calendar, fraction)

    def alerting(self, now, limit=100):
        return sql.alerting(self.cur, now, limit)

    def due_times(self, ticket_ids):
        """(ticket_id, clock, first response due, resolution due) of those that have a clock."""
        return [(ticket_id, clocks.from_json(state), response, resolution)
                for ticket_id, state, response, resolution in sql.due_times(self.cur, ticket_ids)]


class Episodes:
    """24-hour support usage episodes in progress."""

    def __init__(self, cur):
        self.cur = cur

    def load(self, ticket_id):
        return sql.load_episode(self.cur, ticket_id)

    def save(self, episode):
        sql.save_episode(self.cur, episode)


class Dashboard:
    """The supervisors' dashboard: figures per (day, department), only ever added to."""

    def __init__(self, cur):
        self.cur = cur

    def hold(self):
        """Its lock, held until the transaction ends; taken before anything else is written."""
        sql.hold_dashboard(self.cur)

    def add(self, changes):
        """Adds {(day, department): dashboard.Figures}; a row is made for every key given."""
        sql.add_figures(self.cur, changes)

    def between(self, since, until):
        """[(day, department, Figures)] of the days since..until (both included), by day and department."""
        return sql.figures_between(self.cur, since, until)


POSTGRES = {"clocks": Clocks, "episodes": Episodes, "dashboard": Dashboard}


class InMemoryClocks(InMemoryTable):
    """ticket_id -> (clock, first response due, resolution due, next alert at)."""

    def load(self, ticket_id, lock=False):
        found = self.rows.get(str(ticket_id))
        return found[0] if found else None

    def save(self, clock, calendar, fraction):
        timers = clock.timers
        self.rows[str(clock.ticket_id)] = (
            clock, clocks.due_at(timers[clocks.RESPONSE], calendar), clocks.due_at(timers[clocks.RESOLUTION], calendar),
            clocks.next_alert_at(clock, calendar, fraction))

    def alerting(self, now, limit=100):
        due = sorted((next_at, ticket_id) for ticket_id, (_, _, _, next_at) in self.rows.items()
                     if next_at is not None and next_at <= now)
        return [ticket_id for _, ticket_id in due[:limit]]

    def due_times(self, ticket_ids):
        return [(ticket_id, *self.rows[ticket_id][:3]) for ticket_id in map(str, ticket_ids) if ticket_id in self.rows]


class InMemoryEpisodes(InMemoryTable):
    def load(self, ticket_id):
        return self.rows.get(str(ticket_id))

    def save(self, episode):
        self.rows[str(episode.ticket_id)] = episode


class InMemoryDashboard(InMemoryTable):
    """(day, department) -> Figures."""

    def hold(self):
        """Transactions in memory run one at a time: nothing to wait for."""

    def add(self, changes):
        self.rows = dashboard.apply(self.rows, changes)

    def between(self, since, until):
        return [(day, department, figures) for (day, department), figures in sorted(self.rows.items())
                if since <= day <= until]


def in_memory():
    return {"clocks": InMemoryClocks(), "episodes": InMemoryEpisodes(), "dashboard": InMemoryDashboard()}
