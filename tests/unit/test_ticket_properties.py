"""Property tests of the ticket aggregate: generated command sequences by every kind of actor,
folded with `domain.evolve`, checked against the status table and the visibility rules.

The state machine drives two tickets (the one under test, and a second one to merge with) through
every decision of `domain.py`, each with generated arguments and a generated actor. A decision
either returns events or refuses with `RuleBroken`, `Forbidden` or `IllegalTransition`; anything
else fails the test. After every step:
- every status is one of `domain.STATUSES`, and every event happened in a status its row of
  `domain.TRANSITIONS` allows and led where `domain.next_status` says;
- a closed ticket stays closed and takes no follow-up;
- who did it fits: staff-only decisions never succeed for customers, the customer's decisions
  (approve, refuse, close) never for staff, the routing service, nor customers who do not speak
  for the requester; only routing routes, and routing only routes and assigns;
- `access.can_see` hides the ticket from the other company's customer and from agents of other
  departments, whatever happened to it;
- the customer's history (`timeline.entries(..., staff_view=False)`) holds no internal note,
  nor any of their text or files.

The focused tests at the end pin down what the machine found, or what its generated data could
not reach (customers without a company, CC addresses typed in capitals, the envelope's channel).
"""
import itertools
import json
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from helpdesk import catalog
from helpdesk.events import RecordedEvent
from services.tickets import access, domain, queries, timeline

CATALOG = catalog.load()
DEPARTMENTS = sorted(CATALOG.departments)
REFUSALS = (domain.RuleBroken, domain.Forbidden, domain.IllegalTransition)
FOLLOW_UPS = frozenset({"CustomerCommented", "StaffReplied", "InternalNoteAdded", "InformationRequested"})
# What each side may cause: anything else from them is a bug, whatever the decision was.
CUSTOMER_EVENTS = frozenset({"CustomerCommented", "CcChanged", "SolutionApproved", "SolutionRefused",
                             "TicketClosed"})
CUSTOMER_ONLY_EVENTS = CUSTOMER_EVENTS - {"CcChanged"}
TEXT_LIMIT = 20_000


def principal(user_id, email, name, role, company_id=None, departments=(), **flags):
    return {"user_id": user_id, "email": email, "name": name, "role": role, "company_id": company_id,
            "is_group": flags.get("is_group", False), "company_admin": flags.get("company_admin", False),
            "departments": list(departments), "language": "es", "must_change_password": False}


REQUESTER = principal("u-ana", "ana@demo.example", "Ana Cliente", "customer", "c-demo")
COLLEAGUE = principal("u-luis", "luis@demo.example", "Luis Compañero", "customer", "c-demo")
GROUP_USER = principal("u-grupo", "soporte@demo.example", "Soporte Demo", "customer", "c-demo", is_group=True)
OUTSIDER = principal("u-eva", "eva@otra.example", "Eva Otra", "customer", "c-otra")
AGENTS = {code: principal(f"u-agent-{code}", f"agent-{code}@helpdesk.example", f"Agente {code}", "agent",
                          departments=[code]) for code in DEPARTMENTS}
SUPERVISOR = principal("u-super", "supervisor@helpdesk.example", "Supervisión", "supervisor")
# The routing service acting on its own (TicketsService.act_as_system): it routes and assigns.
ROUTING = {"user_id": "system:routing", "email": "", "name": "routing", "role": domain.SYSTEM,
           "departments": [], "language": "es"}
SYSTEM_EVENTS = frozenset({"TicketRouted", "TicketAssigned"})
CUSTOMERS = (REQUESTER, COLLEAGUE, GROUP_USER, OUTSIDER)
STAFF = (*AGENTS.values(), SUPERVISOR)
ACTORS = (*CUSTOMERS, *STAFF)
# Who speaks for the requester of a ticket of REQUESTER's (its approvals, refusals, closing, CC).
REQUESTER_SIDE = (REQUESTER, GROUP_USER)
# Copied addresses are drawn from here: never the outsider's, whose blindness is an invariant.
CC_POOL = ("luis@demo.example", "jefe@demo.example", "it@partner.example", "noc@partner.example")

# -- arguments ----------------------------------------------------------------------------------
# Text in the marker brackets is written only into internal notes, so finding it in a customer's
# view is a leak, whatever the rest of the generated text looks like.
NOTE_MARK = "⟦"
plain_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=NOTE_MARK + "⟧"),
                     max_size=40)
long_text = st.builds(lambda n, c: c * n, st.sampled_from([1999, 2000, 2001, TEXT_LIMIT, TEXT_LIMIT + 1]),
                      st.sampled_from(["a", "ñ", " "]))
some_text = plain_text.filter(lambda t: t.strip())
# Mostly text a decision takes, often enough what it must refuse: empty, blank, over a limit.
texts = st.one_of(some_text, some_text, some_text, st.one_of(st.just(""), st.just("   \n "), long_text))
attachments = st.one_of(st.none(), st.builds(
    lambda id_, name, size: {"id": str(id_), "name": name[0], "size": size, "type": name[1], "sha256": "x"},
    st.uuids(), st.sampled_from([("a.png", "image/png"), ("informe.pdf", "application/pdf"),
                                 ("traza.txt", "text/plain")]),
    st.integers(1, 2 * 1024 * 1024)))
cc_lists = st.lists(st.sampled_from(CC_POOL), max_size=3, unique=True)
urgencies = st.sampled_from(["high", "medium", "low", "", "HIGH", None])
departments = st.one_of(st.sampled_from(DEPARTMENTS), st.sampled_from(["marketing", "", "Networks"]))
# Actors are drawn by their relation to the ticket at hand (its department changes, and so does
# which agent is "of the ticket's department"); `TicketLife.who` names the principal.
RELATIONS = ("requester", "colleague", "group user", "outsider", "department agent", "other agent",
             "supervisor")
actors = st.sampled_from(RELATIONS)
# Every actor tries everything; those whose decision it is are drawn more often, so that tickets
# get far enough (assigned, started, resolved, reopened) for the later rules to meet them.
staff_side = st.one_of(st.sampled_from(("department agent", "supervisor")), actors)
customer_side = st.one_of(st.sampled_from(("requester", "group user")), actors, st.just("routing"))
routing_side = st.one_of(st.just("routing"), actors)


# The ticket life cycle of the manuals (000_…, 004_…), spelled out pair by pair, independent of
# services/tickets/domain.TRANSITIONS: (event, status before) -> status after. A pair not listed
# is a command the domain must refuse in that status.
_NEW, _ASSIGNED, _PROGRESS, _WAITING = "new", "assigned", "in_progress", "waiting_for_customer"
_RESOLVED, _CLOSED, _REOPENED = "resolved", "closed", "reopened"
_OPEN = (_NEW, _ASSIGNED, _PROGRESS, _WAITING, _REOPENED)
_EVERY = _OPEN + (_RESOLVED, _CLOSED)
LIFE_CYCLE = {
    # taken by or given to an agent: a new or reopened ticket is now assigned; others keep theirs
    **{("TicketAssigned", s): {_NEW: _ASSIGNED, _REOPENED: _ASSIGNED}.get(s, s) for s in _OPEN},
    **{("WorkStarted", s): _PROGRESS for s in (_ASSIGNED, _REOPENED)},
    # the first staff answer puts the ticket in progress; waiting stays waiting
    **{("StaffReplied", s): _WAITING if s == _WAITING else _PROGRESS for s in _OPEN},
    **{("InformationRequested", s): _WAITING for s in _OPEN},
    # the customer's answer ends the wait; a comment on a resolved ticket leaves it resolved
    **{("CustomerCommented", s): _PROGRESS if s == _WAITING else s for s in _OPEN + (_RESOLVED,)},
    **{("InternalNoteAdded", s): s for s in _OPEN + (_RESOLVED,)},
    **{("CcChanged", s): s for s in _OPEN + (_RESOLVED,)},
    # a ticket moved to another department starts again in its queue
    **{("TicketReclassified", s): _NEW for s in _OPEN},
    **{("TicketRouted", s): _NEW for s in _OPEN},
    **{("UrgencyChanged", s): s for s in _OPEN},
    **{("TicketResolved", s): _RESOLVED for s in (_ASSIGNED, _PROGRESS, _WAITING, _REOPENED)},
    **{("ProviderFaultMarked", s): s for s in _EVERY},  # a billing correction, even after closure
    # RESOLVED becomes CLOSED only with the customer's approval; a refusal reopens it
    ("SolutionApproved", _RESOLVED): _CLOSED,
    ("SolutionRefused", _RESOLVED): _REOPENED,
    ("TicketReopened", _RESOLVED): _REOPENED,  # staff take it back (the customer phoned); never a closed one
    **{("TicketClosed", s): _CLOSED for s in _OPEN + (_RESOLVED,)},
    **{("TicketMerged", s): _CLOSED for s in _OPEN + (_RESOLVED,)},
    **{("DuplicateMerged", s): s for s in _OPEN + (_RESOLVED,)},
}


def itil_forms():
    """(form, urgency) that open_ticket accepts: incidents need one, requests have none."""
    def form(kind):
        return st.fixed_dictionaries({"type": st.just(kind),
                                      "service": st.sampled_from(sorted(CATALOG.services)),
                                      "category": st.sampled_from(sorted(CATALOG.itil_categories[kind]))})

    return st.one_of(st.tuples(form("incident"), st.sampled_from(["high", "medium"])),
                     st.tuples(form("request"), st.none()))


@st.composite
def valid_openings(draw):
    """(command, actor, attachment): an opening the domain must accept, by the customer or by staff."""
    if draw(st.booleans()):
        way = {"department": draw(st.sampled_from(DEPARTMENTS)),
               "urgency": draw(st.sampled_from([None, "high", "medium"]))}
    else:
        form, urgency = draw(itil_forms())
        way = {"department": None, "itil": form, "urgency": urgency}
    actor = draw(st.one_of(st.none(), st.sampled_from(STAFF)))
    command = {"ticket_id": draw(st.uuids()),
               "title": draw(st.sampled_from(["Sin conexión", "Lentitud", "Factura"])),
               "description": draw(some_text),
               "channel": draw(st.sampled_from(["phone", "email"])) if actor else "portal",
               "cc": draw(cc_lists), **way}
    return {k: v for k, v in command.items() if v is not None}, actor, draw(attachments)


def stripped_ok(value, required=True, limit=TEXT_LIMIT):
    value = (value or "").strip()
    return (value or not required) and len(value) <= limit


def speaks_for(actor, ticket):
    """The requester, or a group user of the requester's company (nobody here is a company admin)."""
    company = actor.get("company_id")
    return actor["user_id"] == ticket.requester_id or (
        company is not None and company == ticket.company_id and actor["is_group"])


# -- the machine --------------------------------------------------------------------------------
class TicketLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.streams, self.tickets = {"main": [], "other": []}, {"main": None, "other": None}
        self.positions = itertools.count(1)
        self.notes = itertools.count(1)
        self.secrets = []  # text and attachment ids only internal notes carry

    # bookkeeping ------------------------------------------------------------------------------
    def record(self, which, new_events, actor):
        """Folds `new_events` into ticket `which`, checking each against the status table."""
        for new in new_events:
            before = self.tickets[which]
            stream = self.streams[which]
            recorded = RecordedEvent(
                event_id=new.event_id, type=new.type, schema_version=new.schema_version,
                stream=f"ticket-{which}", stream_position=len(stream), global_position=next(self.positions),
                occurred_at=new.occurred_at, data=new.data, actor=new.actor, channel=new.channel)
            after = domain.evolve(before, recorded)
            assert after.status in domain.STATUSES
            assert after.version == recorded.stream_position
            assert new.actor == actor["user_id"] and new.data["by"]["user_id"] == actor["user_id"]
            if actor["role"] == domain.SYSTEM:
                assert new.type in SYSTEM_EVENTS, new.type
            elif domain.is_staff(actor):
                assert new.type not in CUSTOMER_ONLY_EVENTS | {"TicketRouted"}, (new.type, actor["role"])
            else:
                assert new.type in CUSTOMER_EVENTS | {"TicketOpened"}, (new.type, actor["role"])
            if before is not None:
                # the expectation comes from the manuals' life cycle (LIFE_CYCLE, written out
                # below), never from the domain's own table
                assert (new.type, before.status) in LIFE_CYCLE, (new.type, before.status)
                assert new.data["ticket_id"] == str(before.ticket_id)
                assert after.status == LIFE_CYCLE[new.type, before.status] == domain.next_status(
                    before.status, new.type)
                if before.status == domain.CLOSED:
                    assert after.status == domain.CLOSED, new.type
                    assert new.type not in FOLLOW_UPS, new.type
            stream.append(recorded)
            self.tickets[which] = after

    @staticmethod
    def attempt(decision):
        """(events, None) or (None, refusal); any other exception fails the test."""
        try:
            return decision(), None
        except REFUSALS as exc:
            return None, exc

    def act(self, decision, actor, which="main", staff_only=False, customer_only=False):
        ticket = self.tickets[which]
        events, refused = self.attempt(lambda: decision(ticket))
        if staff_only and actor["role"] == "customer":
            assert refused is not None, f"{actor['name']} (customer) did a staff-only thing"
            assert isinstance(refused, domain.Forbidden), refused
        if customer_only and (domain.is_staff(actor) or not speaks_for(actor, ticket)):
            assert refused is not None, f"{actor['name']} ({actor['role']}) decided for the requester"
        if events:
            self.record(which, events, actor)
        return events, refused

    def who(self, relation, which="main"):
        department = self.tickets[which].department
        if relation == "department agent":
            return AGENTS[department] if department else AGENTS["networks"]
        if relation == "other agent":
            return AGENTS[DEPARTMENTS[(DEPARTMENTS.index(department) + 1) % len(DEPARTMENTS)]
                          if department else "systems"]
        return {"requester": REQUESTER, "colleague": COLLEAGUE, "group user": GROUP_USER,
                "outsider": OUTSIDER, "supervisor": SUPERVISOR, "routing": ROUTING}[relation]

    @property
    def main(self):
        return self.tickets["main"]

    # opening ---------------------------------------------------------------------------------
    @initialize(opening=valid_openings(), second=valid_openings(),
                second_requester=st.sampled_from(CUSTOMERS))
    def open_both(self, opening, second, second_requester):
        for which, (command, actor, attachment), requester in (("main", opening, REQUESTER),
                                                               ("other", second, second_requester)):
            events = domain.open_ticket(command, requester, CATALOG, actor=actor, reference=f"#{which}",
                                        attachment=attachment)
            assert [e.type for e in events] == ["TicketOpened"]
            self.record(which, events, actor or requester)
            ticket = self.tickets[which]
            assert ticket.status == domain.NEW and ticket.requester_id == requester["user_id"]
            assert ticket.opened_by == (actor["user_id"] if actor else None)

    @rule(requester=st.sampled_from(ACTORS), actor=st.one_of(st.none(), st.sampled_from(STAFF)),
          department=departments, form=itil_forms(), by_department=st.booleans(),
          urgency=st.sampled_from([None, "high", "medium"]),
          channel=st.sampled_from(["portal", "phone", "email"]), title=texts, description=texts,
          cc=cc_lists, attachment=attachments)
    def open_another(self, requester, actor, department, form, by_department, urgency, channel, title,
                     description, cc, attachment):
        """Any opening (never folded into the two tickets): events or a refusal, and only a
        customer is ever a requester, only staff open for someone else."""
        command = {"ticket_id": uuid.uuid4(), "title": title, "description": description, "channel": channel,
                   "cc": cc, "urgency": urgency}
        command.update({"department": department} if by_department else {"department": None, "itil": form[0]})
        command = {k: v for k, v in command.items() if v is not None}
        events, refused = self.attempt(lambda: domain.open_ticket(
            command, requester, CATALOG, actor=actor, reference="#000009", attachment=attachment))
        if refused is None:
            (event,) = events
            assert requester["role"] == "customer"
            assert event.data["requester_id"] == requester["user_id"]
            ticket = domain.evolve(None, RecordedEvent(
                event_id=event.event_id, type=event.type, schema_version=1, stream="ticket-x",
                stream_position=0, global_position=next(self.positions), occurred_at=event.occurred_at,
                data=event.data))
            assert ticket.status == domain.NEW
            assert ticket.urgency in (*domain.URGENCIES, None)
        elif requester["role"] != "customer":
            pass  # refusing those is the point
        else:
            assert isinstance(refused, domain.RuleBroken), refused

    # follow-ups -------------------------------------------------------------------------------
    @rule(actor=actors, body=texts, attachment=attachments)
    def comment(self, actor, body, attachment):
        actor = self.who(actor)
        was = self.main.status
        events, refused = self.act(lambda t: domain.comment(t, actor, body, attachment), actor)
        if was == domain.CLOSED:
            assert refused is not None
        if events:
            assert events[0].type == ("StaffReplied" if domain.is_staff(actor) else "CustomerCommented")
        elif not domain.is_staff(actor) and was != domain.CLOSED and stripped_ok(body, attachment is None):
            assert refused is None, f"the customer side could not comment while {was}: {refused}"

    @rule(actor=staff_side, body=st.one_of(texts, plain_text.map(lambda t: "x" + t)), attachment=attachments)
    def add_internal_note(self, actor, body, attachment):
        actor = self.who(actor)
        number = next(self.notes)
        if (body or "").strip():
            body = f"{NOTE_MARK}nota {number}⟧ {body}"
            self.secrets.append(f"{NOTE_MARK}nota {number}⟧")
        if attachment is not None:
            attachment = dict(attachment, id=f"{NOTE_MARK}adjunto {number}⟧")
            self.secrets.append(attachment["id"])
        was = self.main.status
        events, refused = self.act(lambda t: domain.add_internal_note(t, actor, body, attachment), actor,
                                   staff_only=True)
        if domain.is_staff(actor) and was != domain.CLOSED and stripped_ok(body, attachment is None):
            assert refused is None, refused

    @rule(actor=staff_side, body=texts)
    def request_information(self, actor, body):
        actor = self.who(actor)
        self.act(lambda t: domain.request_information(t, actor, body), actor, staff_only=True)

    @rule(actor=actors, cc=cc_lists)
    def change_cc(self, actor, cc):
        actor = self.who(actor)
        events, refused = self.act(lambda t: domain.change_cc(t, actor, cc), actor)
        if events or refused is None:
            assert domain.is_staff(actor) or speaks_for(actor, self.main)

    # staff work -------------------------------------------------------------------------------
    @rule(actor=st.one_of(staff_side, st.just("routing")),
          agent=st.one_of(st.just("department agent"), actors))
    def assign(self, actor, agent):
        actor = self.who(actor)
        agent = self.who(agent)
        events, _ = self.act(lambda t: domain.assign(t, actor, agent), actor, staff_only=True)
        if events:
            assert agent["role"] == "agent" and self.main.department in agent["departments"]
            assert self.main.assignee_id == agent["user_id"]

    @rule(actor=staff_side)
    def start_work(self, actor):
        actor = self.who(actor)
        self.act(lambda t: domain.start_work(t, actor), actor, staff_only=True)

    @rule(actor=staff_side, department=departments, reason=texts)
    def reclassify(self, actor, department, reason):
        actor = self.who(actor)
        events, _ = self.act(lambda t: domain.reclassify(t, actor, department, reason, CATALOG), actor,
                             staff_only=True)
        if events:
            assert self.main.department == department and self.main.assignee_id is None

    @rule(actor=routing_side, department=departments, reason=texts)
    def route(self, actor, department, reason):
        actor = self.who(actor)
        events, refused = self.act(lambda t: domain.route(t, actor, department, reason, CATALOG), actor)
        if actor["role"] != domain.SYSTEM:
            assert isinstance(refused, domain.Forbidden), refused
        if events:
            assert self.main.department == department and self.main.assignee_id is None
            assert self.main.status == domain.NEW

    @rule(actor=staff_side, urgency=urgencies)
    def change_urgency(self, actor, urgency):
        actor = self.who(actor)
        was = self.main
        events, _ = self.act(lambda t: domain.change_urgency(t, actor, urgency, CATALOG), actor, staff_only=True)
        assert self.main.urgency in (*domain.URGENCIES, None)
        if events and urgency != "high" and was.department in CATALOG.departments \
                and CATALOG.departments[was.department].urgent_only:
            # lowered below urgent: it left the urgent-only department in the same decision
            assert [e.type for e in events] == ["UrgencyChanged", "TicketReclassified"]
            assert self.main.department == CATALOG.departments[was.department].non_urgent_to
            assert self.main.assignee_id is None and self.main.status == domain.NEW

    @rule(actor=staff_side, solution=texts)
    def resolve(self, actor, solution):
        actor = self.who(actor)
        events, _ = self.act(lambda t: domain.resolve(t, actor, solution), actor, staff_only=True)
        if events:
            assert self.main.status == domain.RESOLVED and self.main.solution == solution.strip()

    @rule(actor=staff_side, reason=texts)
    def reopen(self, actor, reason):
        actor = self.who(actor)
        was = self.main.status
        events, refused = self.act(lambda t: domain.reopen(t, actor, reason), actor, staff_only=True)
        if domain.is_staff(actor) and was == domain.RESOLVED and stripped_ok(reason):
            assert refused is None, refused
            assert self.main.status == domain.REOPENED

    @rule(actor=staff_side, provider_fault=st.booleans(), note=texts)
    def mark_provider_fault(self, actor, provider_fault, note):
        actor = self.who(actor)
        was = self.main.status
        self.act(lambda t: domain.mark_provider_fault(t, actor, provider_fault, note), actor, staff_only=True)
        assert self.main.status == was
        if domain.is_staff(actor) and stripped_ok(note, False, 2000):
            assert self.main.provider_fault == provider_fault

    @rule(actor=staff_side, into_other=st.sampled_from([True, False, False]))
    def merge(self, actor, into_other):
        actor = self.who(actor)
        source, target = ("main", "other") if into_other else ("other", "main")
        duplicate, into = self.tickets[source], self.tickets[target]
        result, refused = self.attempt(lambda: domain.merge(duplicate, into, actor))
        if not domain.is_staff(actor):
            assert isinstance(refused, domain.Forbidden), refused
        if refused is None:
            mine, theirs = result
            assert into.status != domain.CLOSED
            assert duplicate.requester_id == into.requester_id or (
                duplicate.company_id is not None and duplicate.company_id == into.company_id)
            self.record(source, mine, actor)
            self.record(target, theirs, actor)
            assert self.tickets[source].status == domain.CLOSED
            assert self.tickets[source].merged_into == str(into.ticket_id)

    @rule(which=st.sampled_from(["main", "other"]), by_supervisor=st.booleans(), steps=st.integers(1, 3),
          solution=some_text)
    def department_works_it(self, which, by_supervisor, steps, solution):
        """The department agent takes the ticket, starts, resolves (the first `steps` of those, each
        refused or not like any other decision): random single steps rarely get that far."""
        agent = self.who("department agent", which)
        actor = SUPERVISOR if by_supervisor else agent
        decisions = (lambda t: domain.assign(t, actor, agent), lambda t: domain.start_work(t, actor),
                     lambda t: domain.resolve(t, actor, solution))
        for decision in decisions[:steps]:
            self.act(decision, actor, which=which, staff_only=True)

    # the customer's decisions -------------------------------------------------------------------
    @rule(actor=customer_side, text=texts)
    def approve_solution(self, actor, text):
        actor = self.who(actor)
        was = self.main.status
        events, refused = self.act(lambda t: domain.approve_solution(t, actor, text), actor,
                                   customer_only=True)
        if actor in REQUESTER_SIDE and was == domain.RESOLVED and stripped_ok(text, False):
            assert refused is None, refused

    @rule(actor=customer_side, text=texts)
    def refuse_solution(self, actor, text):
        actor = self.who(actor)
        was = self.main.status
        events, refused = self.act(lambda t: domain.refuse_solution(t, actor, text), actor,
                                   customer_only=True)
        if actor in REQUESTER_SIDE and was == domain.RESOLVED and stripped_ok(text):
            assert refused is None, refused

    @rule(actor=customer_side, text=texts, which=st.sampled_from(["main", "other", "other"]))
    def close(self, actor, text, which):
        actor = self.who(actor, which)
        was = self.tickets[which].status
        events, refused = self.act(lambda t: domain.close(t, actor, text), actor, which=which,
                                   customer_only=True)
        may = which == "main" and actor in REQUESTER_SIDE and was != domain.CLOSED
        if may and stripped_ok(text, False, 2000):
            assert refused is None, refused

    # after every step ------------------------------------------------------------------------
    @invariant()
    def statuses_are_known(self):
        for ticket in self.tickets.values():
            if ticket is not None:
                assert ticket.status in domain.STATUSES

    @invariant()
    def the_ticket_is_hidden_from_who_may_not_see_it(self):
        for ticket in self.tickets.values():
            if ticket is None:
                continue
            assert not access.can_see(OUTSIDER, ticket) or ticket.requester_id == OUTSIDER["user_id"]
            for code, agent in AGENTS.items():
                assert access.can_see(agent, ticket) == (code == ticket.department), (code, ticket.department)
            assert access.can_see(SUPERVISOR, ticket)
        main = self.main
        if main is not None:
            assert not access.can_see(OUTSIDER, main)
            assert access.can_see(REQUESTER, main) and access.can_see(GROUP_USER, main)

    @invariant()
    def customers_never_see_internal_notes(self):
        assert "InternalNoteAdded" in domain.INTERNAL_EVENTS
        for events in self.streams.values():
            public = [e for e in events if e.type not in domain.INTERNAL_EVENTS]
            for language in ("es", "en"):
                seen = timeline.entries(events, staff_view=False, language=language)
                assert [entry["type"] for entry in seen] == [e.type for e in public]
                assert not any(entry["internal"] for entry in seen)
                dumped = json.dumps(seen, ensure_ascii=False, default=str)
                assert NOTE_MARK not in dumped
                for secret in self.secrets:
                    assert secret not in dumped
                staff = timeline.entries(events, staff_view=True, language=language)
                assert [entry["type"] for entry in staff] == [e.type for e in events]
                assert all(entry["internal"] == (entry["type"] in domain.INTERNAL_EVENTS) for entry in staff)


TicketLife.TestCase.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestTicketLife = TicketLife.TestCase


# -- focused properties -------------------------------------------------------------------------
NO_COMPANY_1 = principal("u-sin-1", "pablo@gmail.example", "Pablo", "customer")  # self-registered:
NO_COMPANY_2 = principal("u-sin-2", "rosa@gmail.example", "Rosa", "customer")    # no company


def opened(requester, department="networks", cc=(), reference="#000001"):
    (event,) = domain.open_ticket(
        {"ticket_id": uuid.uuid4(), "department": department, "title": "Sin conexión",
         "description": "Desde las 9", "channel": "portal", "cc": list(cc)},
        requester, CATALOG, reference=reference)
    return domain.evolve(None, RecordedEvent(
        event_id=event.event_id, type=event.type, schema_version=1, stream="ticket-x", stream_position=0,
        global_position=1, occurred_at=event.occurred_at, data=event.data))


@pytest.mark.parametrize("first,second", list(itertools.product(
    (*CUSTOMERS, NO_COMPANY_1, NO_COMPANY_2), repeat=2)), ids=lambda p: p["user_id"])
def test_merge_joins_only_tickets_of_one_customer_or_one_company(first, second):
    """`merge` refuses tickets of different customers of different companies. Self-registered
    customers have no company (identity.domain.register): their tickets are not one company's."""
    duplicate, target = opened(first, reference="#000001"), opened(second, reference="#000002")
    same = first["user_id"] == second["user_id"] or (
        first["company_id"] is not None and first["company_id"] == second["company_id"])
    try:
        domain.merge(duplicate, target, SUPERVISOR)
        merged = True
    except domain.RuleBroken as exc:
        assert exc.field == "into"
        merged = False
    assert merged == same, f"{first['name']}'s ticket merged into {second['name']}'s: {merged}"


@pytest.mark.parametrize("address,login", list(itertools.product(
    ["jefe@partner.example", "Jefe@Partner.example", "JEFE@PARTNER.EXAMPLE"],
    ["jefe@partner.example", "Jefe@Partner.example"])))
def test_a_copied_address_sees_the_ticket_whatever_the_case_it_was_typed_in(address, login):
    """CC addresses are kept as typed (contracts.CcField); the list query compares them lower-cased
    (projection.row, queries.visibility), so the ticket a CC'd customer finds in their list must
    open for them too."""
    ticket = opened(REQUESTER, cc=[address])
    copied = principal("u-jefe", login, "Jefe", "customer", "c-partner")
    assert access.can_see(copied, ticket), f"CC {address!r} does not let {login!r} see the ticket"


@pytest.mark.parametrize("actor,channel", [(REQUESTER, "portal"), (AGENTS["networks"], "staff"),
                                           (SUPERVISOR, "staff"), (ROUTING, "system")],
                         ids=["customer", "agent", "supervisor", "routing"])
def test_each_decision_records_the_channel_of_who_made_it(actor, channel):
    """The envelope's channel (events.CHANNELS) says where a decision came from: the customer's
    portal, staff, or a service acting on its own, never the portal for routing's decisions."""
    ticket = opened(REQUESTER, department="sales")
    if actor is ROUTING:
        events = domain.route(ticket, actor, "networks", "la regla de red", CATALOG)
    elif actor is REQUESTER:
        events = domain.comment(ticket, actor, "¿Alguna novedad?")
    else:
        events = domain.add_internal_note(ticket, actor, "mirando")
    assert [event.channel for event in events] == [channel]


class RecordingCursor:
    def __init__(self):
        self.executed = []

    def execute(self, sql, args=()):
        self.executed.append((sql, tuple(args)))

    def fetchall(self):
        return []


@pytest.mark.parametrize("typed", ["#000042", "000042"])
def test_a_search_by_reference_compares_it_as_tickets_are_numbered(typed):
    """Tickets are numbered "#000042" (TicketsService.open_ticket; TicketOpened.reference, the
    `ticket_summaries.reference` column). `queries.list_tickets(text=...)` compares that column
    with `text.lstrip("#")`, "000042", so searching a ticket by its reference, as shown or without
    the "#", never finds it (bench/tickets.py: the `text=#000101` row answers 0 items)."""
    cursor = RecordingCursor()
    queries.list_tickets(cursor, REQUESTER, text=typed)
    ((sql, args),) = cursor.executed
    assert "reference" in sql
    assert "#000042" in args, f"the reference is compared with one of {args}, never with '#000042'"
