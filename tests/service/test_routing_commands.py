"""Routing's handlers on the in-memory unit of work: commands are decided in the event's
transaction and sent only after it (issue 11), each under an id that makes a repeat harmless."""
import uuid

import pytest

from helpdesk import catalog, config, errors
from helpdesk.clock import Clock
from helpdesk.events import NewEvent, RecordedEvent, utcnow
from helpdesk.eventstore import InMemoryEventStore
from helpdesk.testing import FAKE_NOW
from services.routing.bootstrap import bootstrap

AGENT = str(uuid.uuid4())


class Tickets:
    """The tickets service as routing sees it: what it was asked, and what it answers."""

    def __init__(self, refuse=None, fail=None):
        self.calls, self.refuse, self.fail = [], refuse, fail

    def act_as_system(self, service, ticket_id, action, command, cause, idempotency_key):
        if self.fail:
            raise self.fail
        self.calls.append((service, ticket_id, action, command, cause, idempotency_key))
        if self.refuse:
            raise self.refuse


def event(type_, position, **data):
    new = NewEvent(type=type_, data=data)
    return RecordedEvent(event_id=new.event_id, type=type_, schema_version=1, stream=f"x-{uuid.uuid4()}",
                         stream_position=0, global_position=position, occurred_at=utcnow(), data=data,
                         correlation_id=new.event_id)


@pytest.fixture
def routing():
    settings = config.load()
    app = bootstrap(settings, catalog.load(settings), Clock(FAKE_NOW), store=InMemoryEventStore("routing"))
    with app.uow() as work:
        app.apply_identity_event(work, event("UserRegistered", 1, user_id=AGENT, email="a@helpdesk.example",
                                             name="A", role="agent", departments=["support_24h"]))
    return app


def opened(routing, position=10):
    ticket_id = str(uuid.uuid4())
    opening = event("TicketOpened", position, ticket_id=ticket_id, department="support_24h", urgency="high")
    with routing.uow() as work:
        routing.apply_ticket_event(work, opening)
    return ticket_id, opening


def test_an_assignment_is_noted_in_the_transaction_and_sent_after_it(routing):
    tickets = Tickets()
    ticket_id, opening = opened(routing)  # nothing can be sent from inside: the handler has no tickets port
    with routing.uow() as work:
        [(command_id, noted_ticket, action, command, cause)] = work.outgoing.pending()
    assert (noted_ticket, action, command) == (ticket_id, "assign", {"agent_id": AGENT})
    assert routing.send_pending(tickets) == 1
    assert tickets.calls == [("routing", ticket_id, "assign", {"agent_id": AGENT},
                              {"event_id": str(opening.event_id), "correlation_id": str(opening.event_id)},
                              str(uuid.uuid5(opening.event_id, "assign")))]
    with routing.uow() as work:
        assert work.outgoing.pending() == [] and work.tickets.assignee(ticket_id) == AGENT
    assert routing.send_pending(tickets) == 0  # sent once


def test_a_failed_transaction_sends_nothing(routing):
    ticket_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError):
        with routing.uow() as work:
            routing.apply_ticket_event(work, event("TicketOpened", 11, ticket_id=ticket_id,
                                                   department="support_24h", urgency="high"))
            raise RuntimeError("the inbox's transaction fails after the handler")
    tickets = Tickets()
    assert routing.send_pending(tickets) == 0 and tickets.calls == []


def test_a_refused_assignment_is_forgotten_so_the_ticket_waits_again(routing):
    ticket_id, _ = opened(routing)
    refusing = Tickets(refuse=errors.Conflict("ticket_closed"))
    routing.send_pending(refusing)
    with routing.uow() as work:
        assert work.outgoing.pending() == []
        assert work.tickets.needs_agent(ticket_id)
    routing.assign_waiting()  # the timer offers it again
    tickets = Tickets()
    routing.send_pending(tickets)
    assert [(call[1], call[2]) for call in tickets.calls] == [(ticket_id, "assign")]
    assert tickets.calls[0][5] != refusing.calls[0][5]  # a new command, not the refused one again


def test_an_outage_leaves_the_commands_for_later(routing):
    ticket_id, _ = opened(routing)
    with pytest.raises(ConnectionRefusedError):
        routing.send_pending(Tickets(fail=ConnectionRefusedError("tickets away")))
    with routing.uow() as work:
        assert [p[1] for p in work.outgoing.pending()] == [ticket_id]
    tickets = Tickets()
    assert routing.send_pending(tickets) == 1 and tickets.calls[0][1] == ticket_id
