"""Routing entrypoints: ticket and identity events in; `route` and `assign` commands out, by RPC to
the tickets service (one writer per aggregate: routing never writes a ticket itself).

A new ticket is routed to the department its rules pick (TicketRouted comes back as an event), and
a ticket in the right department without an assignee is given to an agent on shift. Nobody on
shift: it waits in the queue, and a timer tries again every minute. `preview` tells the ticket
form, before it is sent, where a ticket would go and why.
"""
import logging

from marshmallow import ValidationError
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from helpdesk import calendars, catalog, contracts, errors
from helpdesk.clock import ClockProvider
from helpdesk.events import cause_of
from helpdesk.extensions import CatalogProvider, Database, Health, Inbox, RpcProxy, rpc, subscribe

from . import rules, store

log = logging.getLogger(__name__)
CLOSING = frozenset({"TicketResolved", "SolutionApproved", "TicketClosed", "TicketMerged"})
REQUEUEING = frozenset({"TicketRouted", "TicketReclassified"})


class RoutingSettings(DependencyProvider):
    """The routing rules and the calendars shifts are read from."""

    def setup(self):
        departments = catalog.load(self.container.config).departments
        self.rules = rules.RoutingConfig.load(departments, self.container.config.get("ROUTING_CONFIG"))
        self.calendars = calendars.load_calendars(self.container.config.get("SLA_CONFIG"))
        self.departments = departments

    def shift_calendar(self, agent_email, department):
        name = self.rules.agent_shifts.get(agent_email) or self.departments[department].calendar
        return self.calendars[name]

    def get_dependency(self, worker_ctx):
        return self


class RoutingService(Health):
    name = "routing"
    config = Config()
    db = Database()
    catalog = CatalogProvider()
    settings = RoutingSettings()
    clock = ClockProvider()
    tickets = RpcProxy("tickets")
    ticket_events = Inbox("tickets")
    identity_events = Inbox("identity")

    @subscribe("tickets")
    def on_ticket_event(self, event):
        self.ticket_events.deliver(event, self._apply_ticket_event)

    @subscribe("identity")
    def on_identity_event(self, event):
        self.identity_events.deliver(event, lambda cur, e: store.project_agent(cur, e))

    @rpc(expected_exceptions=errors.EXPECTED)
    def preview(self, query):
        """Where a ticket with these answers would go, and why (rules.preview). InvalidInput names
        an unknown department, type, service or category."""
        try:
            query = contracts.RoutingPreviewSchema(catalog=self.catalog).load(query or {})
        except ValidationError as exc:
            raise errors.InvalidInput(exc.messages)
        return rules.preview(query, self.settings.rules, self.catalog)

    @timer(interval=60)
    def assign_waiting(self):
        """Heals gaps, then offers waiting tickets (oldest first) to whoever is now on shift."""
        self.ticket_events.heal(self._apply_ticket_event)
        self.identity_events.heal(lambda cur, e: store.project_agent(cur, e))
        with self.db.transaction() as cur:
            waiting = store.waiting(cur, limit=100)
        for ticket_id, department in waiting:
            with self.db.transaction() as cur:
                self._assign(cur, ticket_id, department)

    def _apply_ticket_event(self, cur, event):
        data, ticket_id = event.data, event.data.get("ticket_id")
        if event.type == "TicketOpened":
            store.add_ticket(cur, ticket_id, data, event.global_position)
            department, reason = rules.department_for(data, self.settings.rules, self.catalog)
            if department != data.get("department"):
                self._command(ticket_id, "route", {"department": department, "reason": reason,
                                                   "seen_department": data.get("department")}, cause=event)
            else:
                self._assign(cur, ticket_id, department, cause=event)
        elif event.type in REQUEUEING:
            store.requeue(cur, ticket_id, data["department"])
            self._assign(cur, ticket_id, data["department"], cause=event)
        elif event.type == "TicketAssigned":
            store.set_assignee(cur, ticket_id, data["agent_id"])
        elif event.type == "UrgencyChanged":
            store.set_urgency(cur, ticket_id, data["urgency"])  # the rules decide on the urgency now
        elif event.type in CLOSING:
            store.set_open(cur, ticket_id, False)
        elif event.type == "SolutionRefused":
            store.set_open(cur, ticket_id, True)

    def _assign(self, cur, ticket_id, department, cause=None):
        """Gives an unassigned ticket to an agent on shift, by the department's strategy. `cause`:
        the event this reacts to (none when the timer offers a waiting ticket)."""
        if department is None or not store.needs_agent(cur, ticket_id):
            return
        now = self.clock.now()
        on_shift = [agent_id for agent_id, email in store.agents_of(cur, department)
                    if self.settings.shift_calendar(email, department).is_open(now)]
        agent = rules.choose_agent(self.settings.rules.strategies[department], on_shift,
                                   store.open_counts(cur), store.last_assigned(cur, department))
        if agent is None:
            return  # nobody on shift: it waits in the queue
        if self._command(ticket_id, "assign", {"agent_id": agent}, cause=cause):
            store.set_assignee(cur, ticket_id, agent)
            store.remember_assignment(cur, department, agent)

    def _command(self, ticket_id, action, command, cause=None):
        """Asks the tickets service to act, for `cause` (the event it reacts to, recorded as the
        new events' causation). A refusal (a person acted meanwhile, the agent left) is logged,
        not retried: the state it would have changed has moved on."""
        try:
            self.tickets.act_as_system(self.name, ticket_id, action, command,
                                       cause_of(cause) if cause is not None else None)
            return True
        except (errors.Conflict, errors.InvalidInput, errors.NotFound, errors.Forbidden) as exc:
            log.info("routing: %s of %s refused: %s", action, ticket_id, exc)
            return False
