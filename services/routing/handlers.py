"""Routing's application layer: ticket and identity events in; `route` and `assign` commands out
to the tickets service (one writer per aggregate: routing never writes a ticket itself).

A new ticket is routed to the department its rules pick (TicketRouted comes back as an event), and
a ticket in the right department without an assignee is given to an agent on shift. Nobody on
shift: it waits in the queue, and a timer tries again every minute. `preview` tells the ticket
form, before it is sent, where a ticket would go and why.

Commands are decided in the event's transaction and written there (`outgoing`); they are sent
after it committed (`send_pending`), never while it holds the inbox's row lock, and each carries
its id as the Idempotency-Key, so one sent twice is done once.
"""
import logging
import uuid

from marshmallow import ValidationError

from helpdesk import calendars, contracts, errors
from helpdesk.contracts import REOPENING_TICKET_EVENTS
from helpdesk.events import cause_of

from . import rules

log = logging.getLogger(__name__)
CLOSING = frozenset({"TicketResolved", "SolutionApproved", "TicketClosed", "TicketMerged"})
REQUEUEING = frozenset({"TicketRouted", "TicketReclassified"})
# what a refusal of a sent command raises: the state it would have changed has moved on
REFUSALS = (errors.Conflict, errors.InvalidInput, errors.NotFound, errors.Forbidden)


class RoutingSettings:
    """The routing rules and the calendars shifts are read from."""

    def __init__(self, config, departments):
        self.path = config.get("ROUTING_CONFIG") or None
        self.rules = rules.RoutingConfig.load(departments, self.path)
        self.calendars = calendars.load_calendars(config.get("SLA_CONFIG"))
        self.departments = departments

    def shift_calendar(self, agent_email, department):
        name = self.rules.agent_shifts.get(agent_email) or self.departments[department].calendar
        return self.calendars[name]


class Routing:
    """`uow`: the unit of work (repositories.py); `settings`: RoutingSettings; `clock()`: the
    time shifts are judged at (helpdesk.clock)."""

    name = "routing"

    def __init__(self, uow, settings, catalog, clock):
        self.uow, self.settings, self.catalog, self.clock = uow, settings, catalog, clock

    def rules(self, principal):
        """The routing rules, assignment strategies and shifts in force (admins and supervisors)."""
        if (principal or {}).get("role") not in ("admin", "supervisor"):
            raise errors.Forbidden("only_supervisors")
        return rules.described(self.settings.rules, self.settings.path, self.settings.calendars)

    def preview(self, query):
        """Where a ticket with these answers would go, and why (rules.preview). InvalidInput names
        an unknown department, type, service or category."""
        try:
            query = contracts.RoutingPreviewSchema(catalog=self.catalog).load(query or {})
        except ValidationError as exc:
            raise errors.InvalidInput(exc.messages)
        return rules.preview(query, self.settings.rules, self.catalog)

    # -- events in ----------------------------------------------------------------------------
    def apply_identity_event(self, work, event):
        work.tickets.project_agent(event)

    def apply_ticket_event(self, work, event):
        """Applies one ticket event; True when it noted a command to send after the commit."""
        data, ticket_id = event.data, event.data.get("ticket_id")
        if event.type == "TicketOpened":
            work.tickets.add_ticket(ticket_id, data, event.global_position)
            department, reason = rules.department_for(data, self.settings.rules, self.catalog)
            if department != data.get("department"):
                return self._command(work, ticket_id, "route", {"department": department, "reason": reason,
                                                                "seen_department": data.get("department")}, cause=event)
            return self._assign(work, ticket_id, department, cause=event)
        if event.type in REQUEUEING:
            work.tickets.requeue(ticket_id, data["department"])
            return self._assign(work, ticket_id, data["department"], cause=event)
        if event.type == "TicketAssigned":
            work.tickets.set_assignee(ticket_id, data["agent_id"])
        elif event.type == "UrgencyChanged":
            work.tickets.set_urgency(ticket_id, data["urgency"])  # the rules decide on the urgency now
        elif event.type in CLOSING:
            work.tickets.set_open(ticket_id, False)
        elif event.type in REOPENING_TICKET_EVENTS:
            work.tickets.set_open(ticket_id, True)
        return False

    def assign_waiting(self):
        """Offers waiting tickets (oldest first) to whoever is now on shift."""
        with self.uow() as work:
            waiting = work.tickets.waiting(limit=100)
        for ticket_id, department in waiting:
            with self.uow() as work:
                self._assign(work, ticket_id, department)

    def _assign(self, work, ticket_id, department, cause=None):
        """Gives an unassigned ticket to an agent on shift, by the department's strategy. `cause`:
        the event this reacts to (none when the timer offers a waiting ticket). The assignment is
        noted at once (the next ticket's choice counts it); a refusal undoes it (send_pending).
        True when it noted the command."""
        if department is None or not work.tickets.needs_agent(ticket_id):
            return False
        now = self.clock.now()
        on_shift = [agent_id for agent_id, email in work.tickets.agents_of(department)
                    if self.settings.shift_calendar(email, department).is_open(now)]
        if not on_shift:
            return False  # nobody on shift: it waits in the queue
        agent = rules.choose_agent(self.settings.rules.strategies[department], on_shift,
                                   work.tickets.open_counts(), work.tickets.last_assigned(department))
        if agent is None:
            return False
        work.tickets.set_assignee(ticket_id, agent)
        work.tickets.remember_assignment(department, agent)
        return self._command(work, ticket_id, "assign", {"agent_id": agent}, cause=cause)

    @staticmethod
    def _command(work, ticket_id, action, command, cause=None):
        """Notes a command for the tickets service, sent once this transaction committed. Its id
        is derived from the event it reacts to, so a reaction decided again is the same command."""
        command_id = uuid.uuid5(cause.event_id, action) if cause is not None else uuid.uuid4()
        work.outgoing.add(command_id, ticket_id, action, command, cause_of(cause) if cause is not None else None)
        return True

    # -- commands out -------------------------------------------------------------------------
    def send_pending(self, tickets, limit=100):
        """Sends the noted commands, oldest first, each after its own commit; how many went.
        A refusal (a person acted meanwhile, the agent left) is logged and not retried, and an
        assignment refused is forgotten, so the timer offers the ticket again. Anything else (an
        outage) stops here: the rest waits for the next event or the timer."""
        with self.uow() as work:
            pending = work.outgoing.pending(limit)
        for command_id, ticket_id, action, command, cause in pending:
            try:
                tickets.act_as_system(self.name, ticket_id, action, command, cause, command_id)
            except REFUSALS as exc:
                log.info("routing: %s of %s refused: %s", action, ticket_id, exc)
                with self.uow() as work:
                    if action == "assign" and work.tickets.assignee(ticket_id) == command["agent_id"]:
                        work.tickets.set_assignee(ticket_id, None)
                    work.outgoing.done(command_id)
                continue
            with self.uow() as work:
                work.outgoing.done(command_id)
        return len(pending)
