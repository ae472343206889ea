"""Rebuilding the supervisors' dashboard from the logs: `python -m helpdesk.projections sla`.

The dashboard adds up two logs (dashboard.py): the SLA service's own (breaches, usage records),
which `helpdesk.projections.rebuild` reads, and the tickets service's, whose events the SLA
service applied through its inbox. A rebuild folds both with the rules the live service uses
(`dashboard.Replay`), under the calendars and targets configured now.

Reading the tickets service's table is done here and nowhere else: a rebuild is an operator's
command, run with DATABASE_URL against the database that holds both schemas, and it reads the
tickets' log through the event store's read API (`PostgresEventStore(db, "tickets").read_all`),
never their read models. In normal operation the SLA service learns of ticket events only from
the broker (and `read_stream` over RPC when it heals a gap).

The rebuild counts exactly the ticket events the live service applied: each stream up to the
position the SLA's inbox holds for it (an event parked or not yet delivered is not in the live
figures, and is not counted). It takes the dashboard's lock first, as every writer of the
dashboard does (handlers.py), then the store's appends: the SLA's consumer and its alert timer
wait until it commits. A delivery takes that lock before it moves its stream's position, in the
same transaction, so the positions read under it are those of the figures being replaced.
"""
from helpdesk import config as configuration
from helpdesk.eventstore import PostgresEventStore
from helpdesk.projections import Rebuild

from . import dashboard
from . import store as sql
from .handlers import SlaSettings

CONSUMER = "sla.tickets"  # the SLA's inbox of ticket events (helpdesk.extensions.Inbox)
TICKETS_SCHEMA = "tickets"


class DashboardRebuild(Rebuild):
    name = "sla.dashboard"
    categories = ("sla_alert", "usage")
    tables = ("sla.dashboard",)

    def __init__(self, config=None, batch_size=1000):
        settings = SlaSettings(config if config is not None else configuration.load())
        self.replay = dashboard.Replay(settings.calendar_of, settings.targets, settings.time_zone)
        self.batch_size, self.positions, self.tickets = batch_size, {}, None

    def begin(self, store, cur):
        cur.execute(sql.DASHBOARD_LOCK)
        cur.execute("SELECT stream_name, position FROM sla.inbox_streams WHERE consumer = %s", (CONSUMER,))
        self.positions = dict(cur.fetchall())
        self.tickets = PostgresEventStore(store.db, TICKETS_SCHEMA)

    def apply(self, cur, event):
        self.replay.sla_event(event)

    def finish(self, cur):
        position = 0
        while True:
            events = self.tickets.read_all(position, self.batch_size, ["ticket"], cursor=cur)
            if not events:
                break
            for event in events:
                if event.stream_position <= self.positions.get(event.stream, -1):
                    self.replay.ticket_event(event)
            position = events[-1].global_position
        sql.add_figures(cur, self.replay.figures)
