"""The tickets service's application layer: load the command, authorize, decide, append, project,
answer; plain code over a unit of work (helpdesk.application), wired in bootstrap.py, called by
the nameko adapter (service.py) and by the in-process system (helpdesk.system).

Every operation takes the acting principal (resolved by the gateway through identity) first. Every write
goes through `_change`: read the stream, check the caller may see the ticket (else NotFound, the
same as a missing ticket), decide, append with the version read, save the read model, and the
attachment, in one transaction. When another writer got in between, the command is decided again
on the new state (it commutes, or the domain refuses it); `expected_version` (If-Match) asks for
strictness instead: a stale version is refused with 409.
"""
import base64
import logging
import uuid

from helpdesk import contracts, errors, idempotency
from helpdesk.application import translated
from helpdesk.contracts import ListFiltersSchema, QueueFiltersSchema, load
from helpdesk.events import cause_of, caused_by, stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion
from helpdesk.linktokens import APPROVE_SOLUTION, REFUSE_SOLUTION, SignedLinks, decision_subject
from helpdesk.ticket_schemas import TicketSchema

from . import access, attachments, domain, limits, queries, timeline

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def ticket_stream(ticket_id):
    return stream_name("ticket", ticket_id)


def parse_id(value, what="ticket"):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.NotFound(f"no_{what}", {"id": str(value)})


def upload(payload):
    """(Attachment, bytes) from an API payload, or (None, None)."""
    if not payload:
        return None, None
    try:
        filename, content = attachments.decode(payload)
        return attachments.inspect(filename, content), content
    except attachments.AttachmentTooLarge as exc:
        raise errors.PayloadTooLarge(exc.code, exc.params)
    except attachments.AttachmentRefused as exc:
        raise errors.invalid("attachment", exc.code, **exc.params)


def view(ticket, events, principal, catalog):
    """The ticket as `principal` may see it, with its history in their language."""
    staff = domain.is_staff(principal)
    body = contracts.schema(TicketSchema).dump(ticket)
    if not staff:
        body.pop("provider_fault", None)
    names = {code: department.names for code, department in catalog.departments.items()}
    body["history"] = timeline.entries(events, staff_view=staff, language=principal.get("language", "es"),
                                       department_names=names)
    return body


class Tickets:
    """`uow`: the unit of work (repositories.py); `identity`: who users are (identity's
    get_principal and principal_by_email, over RPC or in process); `settings`: the configuration
    (TICKETS.limits, LINK_SECRET); `clock()`: the time now, aware."""

    def __init__(self, uow, catalog, identity, settings, clock):
        self.uow, self.catalog, self.identity = uow, catalog, identity
        self.settings, self.clock = settings, clock
        self.limits = limits.from_config((settings.get("TICKETS") or {}).get("limits"))

    def forget_expired_answers(self):
        """Remembered answers past their retention are never replayed (the lookup's condition);
        this only keeps the table small."""
        with self.uow() as work:
            return work.answers.forget_expired()

    # -- reading ------------------------------------------------------------------------------
    @staticmethod
    def _lock(work, *ticket_ids):
        """Writers of one ticket take turns (in id order, so two locks never deadlock) rather than
        colliding: the version check on append stays the guarantee, this just avoids retry storms."""
        for ticket_id in sorted(str(t) for t in ticket_ids):
            work.lock(f"ticket {ticket_id}")

    def _visible(self, work, principal, ticket_id):
        events = work.events.read_stream(ticket_stream(ticket_id))
        ticket = domain.fold(events)
        if ticket is None or not access.can_see(principal, ticket):
            raise errors.NotFound("no_ticket", {"id": str(ticket_id)})
        return ticket, events

    def get_ticket(self, principal, ticket_id):
        principal = load(contracts.PrincipalSchema, principal)
        ticket_id = parse_id(ticket_id)
        with self.uow() as work:
            ticket, events = self._visible(work, principal, ticket_id)
        return view(ticket, events, principal, self.catalog)

    def list_tickets(self, principal, filters):
        principal = load(contracts.PrincipalSchema, principal)
        filters = load(ListFiltersSchema, filters)
        return self._page(lambda summaries: summaries.list_tickets(principal, **filters))

    def department_queue(self, principal, department, filters):
        principal = load(contracts.PrincipalSchema, principal)
        filters = load(QueueFiltersSchema, filters)
        if department not in self.catalog.departments:
            raise errors.NotFound("no_department", {"id": department})
        if not domain.is_staff(principal) or (
                principal["role"] == "agent" and department not in principal["departments"]):
            raise errors.Forbidden("only_department_staff")
        if filters.get("assignee") == "me":
            filters["assignee"] = principal["user_id"]
        return self._page(lambda summaries: summaries.queue(department, **filters))

    def loads(self, principal):
        """Open tickets per agent and unassigned per department (supervisors and admins)."""
        principal = load(contracts.PrincipalSchema, principal)
        if principal["role"] not in ("supervisor", "admin"):
            raise errors.Forbidden("only_supervisors")
        with self.uow() as work:
            return work.summaries.loads()

    def _page(self, read):
        """A page of the summaries `read(summaries)` gives; a cursor this API did not give is a 422."""
        try:
            with self.uow() as work:
                return read(work.summaries)
        except queries.BadCursor:
            raise errors.invalid("cursor", "invalid_cursor")

    def get_attachment(self, principal, ticket_id, attachment_id):
        """Only for those who may see the ticket; an internal note's file only for staff."""
        principal = load(contracts.PrincipalSchema, principal)
        ticket_id, attachment_id = parse_id(ticket_id), parse_id(attachment_id, "attachment")
        with self.uow() as work:
            self._visible(work, principal, ticket_id)
            found = work.attachments.load(ticket_id, attachment_id)
        if found is None or (found[1] and not domain.is_staff(principal)):
            raise errors.NotFound("no_attachment", {"id": str(attachment_id)})
        meta, _, content = found
        return {"filename": meta.filename, "content_type": meta.content_type, "size": meta.size,
                "content_base64": base64.b64encode(content).decode()}

    # -- opening ------------------------------------------------------------------------------
    def open_ticket(self, principal, command, idempotency_key=None):
        principal = load(contracts.PrincipalSchema, principal)
        once = _once(principal, idempotency_key, "open", None, command)
        command = load(contracts.OpenTicketSchema, command)
        if domain.is_staff(principal):
            if not command.get("on_behalf_of"):
                raise errors.invalid("on_behalf_of", "give_customer_id")
            return self._open(principal, self._principal_of(command["on_behalf_of"], "on_behalf_of"), command,
                              principal, once)
        if command.get("on_behalf_of") or command["channel"] != "portal":
            field = "on_behalf_of" if command.get("on_behalf_of") else "channel"
            raise errors.Forbidden("only_staff_set_field", {"field": field})
        return self._open(None, principal, command, principal, once)

    def open_ticket_as_system(self, service, requester_id, command):
        """Another service opens a ticket for a customer (the notifier, for an email that answers
        no open ticket): channel email."""
        command = load(contracts.OpenTicketSchema, dict(command, channel="email"))
        actor = {"user_id": f"system:{service}", "email": "", "name": service, "role": domain.SYSTEM,
                 "departments": [], "language": "es"}
        requester = self._principal_of(requester_id, "requester_id")
        return self._open(actor, requester, command, requester)

    def _open(self, actor, requester, command, viewer, once=None):
        """Opens the ticket `command` describes for `requester`; `actor` is who opened it for
        them (staff or a service), None for the customer themself. Answers as `viewer` sees it.
        With an idempotency key (`once`), the ticket's id is derived from it."""
        ticket_id = command.get("ticket_id") or (idempotency.ticket_id(once.user_id, once.key) if once else uuid.uuid4())
        command["ticket_id"] = ticket_id
        meta, content = upload(command.get("attachment"))
        with self.uow() as work:
            if once and (replay := once.recall(work)) is not None:
                return replay
            if actor is None:  # the customer themself; staff and services opening for them are not limited
                self._within_limits(work, requester, limits.usage_of_opening(ticket_id, command.get("cc")))
            follows_up = None
            if command.get("follows_up"):
                try:
                    follows_up = str(self._visible(work, requester, command["follows_up"])[0].ticket_id)
                except errors.NotFound:
                    raise errors.invalid("follows_up", "no_such_ticket_of_yours")
            reference = f"#{work.numbers.next():06d}"
            events = translated(lambda: domain.open_ticket(
                command, requester, self.catalog, actor=actor, reference=reference,
                attachment=meta.as_event_data() if meta else None, follows_up=follows_up))
            if once:
                events = once.named(events, ticket_stream(ticket_id))
            try:
                recorded = work.events.append(ticket_stream(ticket_id), events, NO_STREAM)
            except WrongExpectedVersion:
                # the same answer for any taken id, one's own or another company's: no version, no details
                raise errors.Conflict("ticket_id_taken")
            ticket = domain.fold(recorded)
            work.summaries.save(ticket, recorded[0].global_position)
            if meta:
                work.attachments.save(ticket_id, meta, content)
            answer = view(ticket, recorded, viewer, self.catalog)
            if once:
                once.remember(work, answer)
        return answer

    def _within_limits(self, work, principal, usage):
        """Counts `usage` in the command's transaction, or refuses the command with 429: the
        transaction then rolls back, so a refused command writes nothing, its count included."""
        if limits.exempt(principal):
            return
        now = self.clock()
        keyed = sorted(usage.keys(principal, self.limits), key=lambda found: found[1])
        if not keyed:
            return
        counted = work.rates.counted({key: (now - limit.window, items, limit.maximum) for limit, key, items in keyed})
        new_counts = []
        for limit, key, items in keyed:
            new, wait = limits.decide(limit, counted[key], items, now)
            if wait is not None:
                raise errors.TooManyRequests("rate_limited", {"limit": limit.name}, retry_after=wait)
            new_counts += [(key, item, now) for item in new]
        work.rates.add(new_counts)

    def _name_of(self, address):
        """The account name behind an address (an email reply's sender), or None."""
        try:
            return self.identity.principal_by_email(address).get("name") or None
        except errors.NotFound:
            return None

    def _agent(self, user_id):
        """The principal to assign to, or None for a missing user: the domain refuses both alike
        with someone who is not an agent of the department, so assign tells nobody who exists."""
        try:
            return self.identity.get_principal(str(user_id))
        except errors.NotFound:
            return None

    def _principal_of(self, user_id, field):
        try:
            return self.identity.get_principal(str(user_id))
        except errors.NotFound:
            raise errors.invalid(field, "no_such_user")

    # -- everything after ---------------------------------------------------------------------
    def act(self, principal, ticket_id, action, command, expected_version=None, idempotency_key=None):
        """One of ACTIONS on a ticket: the ticket as the caller now sees it. With an idempotency
        key, a repeat of the command answers what the first did."""
        principal = load(contracts.PrincipalSchema, principal)
        if action not in contracts.TICKET_ACTIONS:
            raise errors.NotFound("no_action", {"id": action})
        once = _once(principal, idempotency_key, action, ticket_id, command, expected_version)
        return self._act(principal, ticket_id, action, load(contracts.TICKET_ACTIONS[action], command),
                         expected_version, once)

    def decide_by_link(self, command):
        """Approve or refuse a solution from the resolution mail's link. Answers as the recipient
        sees the ticket."""
        command = load(contracts.SolutionDecisionSchema, command)
        purpose = APPROVE_SOLUTION if command["decision"] == "approve" else REFUSE_SOLUTION
        subject = decision_subject(command["ticket_id"], command["recipient"], command["resolution"])
        if not SignedLinks(self.settings["LINK_SECRET"]).verify(command["token"], purpose, subject, self.clock()):
            raise errors.invalid("token", "decision_link_invalid")
        try:
            principal = self.identity.principal_by_email(command["recipient"])
        except errors.NotFound:
            raise errors.Forbidden("address_cannot_decide")
        return self._change(principal, command["ticket_id"], lambda t: domain.decide_by_link(
            t, principal, command["decision"], command["resolution"], command["text"]))

    def apply_content_event(self, event):
        """An incident resolved with `resolve_tickets` (services/content): each ticket linked to it
        resolved with its message, once (the event's and the ticket's ids are the idempotency key,
        so a redelivered event changes nothing). A ticket that cannot be resolved now (nobody took
        it yet, or it is resolved or closed already) stays as it is. How many were resolved."""
        data = event.data
        if event.type != "IncidentUpdated" or not data.get("resolve_tickets"):
            return 0
        message = data["message"]
        solution = message.get("es") or message.get("en") or ""
        resolved = 0
        for ticket_id in data.get("tickets") or ():
            try:
                self.act_as_system("content", ticket_id, "resolve", {"solution": solution}, cause_of(event),
                                   f"{event.event_id}:{ticket_id}")
            except (errors.Conflict, errors.NotFound, errors.InvalidInput) as refused:
                log.info("incident %s: ticket %s not resolved (%s)", data["incident_id"], ticket_id, refused)
                continue
            resolved += 1
        return resolved

    def act_as_system(self, service, ticket_id, action, command, cause=None, idempotency_key=None):
        """Another service acting on its own (routing routes and assigns). Not reachable over HTTP.
        `cause` (events.cause_of): the event it reacts to, recorded as the new events' causation.
        `idempotency_key`: the sender's id of the command, so that a command sent again (its sender
        crashed before noting it sent) is done once."""
        if action not in contracts.SYSTEM_TICKET_ACTIONS:
            raise errors.NotFound("no_action", {"id": action})
        actor = {"user_id": f"system:{service}", "email": "", "name": service, "role": domain.SYSTEM,
                 "departments": [], "language": "es"}
        once = _once(actor, idempotency_key, action, ticket_id, command)
        return self._act(actor, ticket_id, action, load(contracts.SYSTEM_TICKET_ACTIONS[action], command),
                         once=once, cause=cause)

    def _act(self, principal, ticket_id, action, command, expected_version=None, once=None, cause=None):
        decide = ACTIONS[action]
        ticket_id = parse_id(ticket_id)
        if action == "merge":
            return self._merge(principal, ticket_id, parse_id(command["into"]), expected_version, once)
        meta, content = upload(command.get("attachment"))
        extra = {}
        if action == "assign":
            agent_id = command.get("agent_id") or principal["user_id"]  # none given: take it yourself
            extra["agent"] = principal if str(agent_id) == principal["user_id"] else self._agent(agent_id)
        if action == "email-reply":
            extra["sender_name"] = self._name_of(command["sender"])
        if meta:
            extra["attachment"] = meta.as_event_data()
        internal = action == "notes"
        return self._change(principal, ticket_id, lambda t: decide(t, principal, command, self.catalog, **extra),
                            expected_version, (meta, content, internal) if meta else None,
                            usage=LIMITED.get(action) and (lambda t: LIMITED[action](t, command)), once=once,
                            cause=cause)

    def _change(self, principal, ticket_id, decide, expected_version=None, file=None, usage=None, once=None,
                cause=None):
        """`usage(ticket)`: what the command counts against the rate limits (limits.Usage), if anything.
        `once` (an idempotency key): a repeat answers what the first did, and a command whose
        first event is already in the stream is not decided again."""
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.uow() as work:
                    if once and (replay := once.recall(work)) is not None:
                        return replay
                    self._lock(work, ticket_id)
                    ticket, events = self._visible(work, principal, ticket_id)
                    if once and once.done_in(events, ticket_stream(ticket_id)):
                        return once.remember(work, view(ticket, events, principal, self.catalog))
                    self._check_version(ticket, expected_version)
                    new_events = translated(lambda: decide(ticket), ticket.version)
                    if not new_events:
                        return once.remember(work, view(ticket, events, principal, self.catalog)) if once else \
                            view(ticket, events, principal, self.catalog)
                    if usage:
                        self._within_limits(work, principal, usage(ticket))
                    new_events = caused_by(new_events, cause)
                    if once:
                        new_events = once.named(new_events, ticket_stream(ticket_id))
                    recorded = self._append(work, ticket, new_events)
                    ticket = domain.fold(events + recorded)
                    if file:
                        meta, content, internal = file
                        work.attachments.save(ticket_id, meta, content, internal=internal)
                    answer = view(ticket, events + recorded, principal, self.catalog)
                    return once.remember(work, answer) if once else answer
            except WrongExpectedVersion:
                continue  # another writer got in first: decide again on what it left
        raise errors.Conflict("ticket_busy")

    @staticmethod
    def _check_version(ticket, expected_version):
        if expected_version is not None and int(expected_version) != ticket.version:
            raise errors.Conflict("ticket_changed", current_version=ticket.version)

    @staticmethod
    def _append(work, ticket, new_events):
        """Appends at the version `ticket` was read at, and saves its new state in the read model."""
        recorded = work.events.append(ticket_stream(ticket.ticket_id), new_events, ticket.version)
        for event in recorded:
            ticket = domain.evolve(ticket, event)
        work.summaries.save(ticket, work.summaries.arrival_of(ticket.ticket_id))
        return recorded

    def _merge(self, principal, ticket_id, into_id, expected_version=None, once=None):
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.uow() as work:
                    if once and (replay := once.recall(work)) is not None:
                        return replay
                    self._lock(work, ticket_id, into_id)
                    ticket, events = self._visible(work, principal, ticket_id)
                    if once and once.done_in(events, ticket_stream(ticket_id)):
                        return once.remember(work, view(ticket, events, principal, self.catalog))
                    self._check_version(ticket, expected_version)
                    try:
                        target, _ = self._visible(work, principal, into_id)
                    except errors.NotFound:
                        raise errors.invalid("into", "no_such_ticket")
                    mine, theirs = translated(lambda: domain.merge(ticket, target, principal), ticket.version)
                    if once:
                        mine = once.named(mine, ticket_stream(ticket_id))
                        theirs = once.named(theirs, ticket_stream(into_id))
                    recorded = self._append(work, ticket, mine)
                    self._append(work, target, theirs)
                    answer = view(domain.fold(events + recorded), events + recorded, principal, self.catalog)
                    return once.remember(work, answer) if once else answer
            except WrongExpectedVersion:
                continue
        raise errors.Conflict("ticket_busy")


class Once:
    """A command sent with an idempotency key: what names its ids, recalls and remembers its answer."""

    def __init__(self, user_id, key, action, fingerprint):
        self.user_id, self.key, self.action, self.fingerprint = user_id, key, action, fingerprint

    def recall(self, work):
        """The first answer to this request, or None; the key used for another request is refused."""
        found = work.answers.recall(self.user_id, self.key)
        if found is None:
            return None
        if found[0] != self.fingerprint:
            raise errors.InvalidInput({"Idempotency-Key": [{"code": "idempotency_key_reused", "params": {}}]},
                                      "idempotency_key_reused", code="idempotency_key_reused")
        return found[1]

    def remember(self, work, answer):
        work.answers.remember(self.user_id, self.key, self.fingerprint, answer)
        return answer

    def named(self, events, stream):
        return idempotency.with_derived_ids(events, self.user_id, self.key, stream, self.action)

    def done_in(self, events, stream):
        first = idempotency.first_event_id(self.user_id, self.key, stream, self.action)
        return any(event.event_id == first for event in events)


def _once(principal, key, action, ticket_id, command, expected_version=None):
    """The command's Once, or None without a key (commands of other services)."""
    if key is None:
        return None
    if not idempotency.valid_key(key):
        raise errors.invalid("Idempotency-Key", "idempotency_key_format", max=idempotency.KEY_MAX)
    return Once(principal["user_id"], key, action,
                idempotency.fingerprint(action, ticket_id, command, expected_version))


# action -> what it counts against the rate limits, from the ticket before it and the command
LIMITED = {
    "comments": lambda t, c: limits.usage_of_comment(t.ticket_id, t.version + 1),
    "cc": lambda t, c: limits.usage_of_cc_change(t.cc, c["cc"]),
}

# action -> decision(ticket, actor, command, catalog, **extra); bodies: contracts.TICKET_ACTIONS
ACTIONS = {
    "comments": lambda t, a, c, cat, attachment=None: domain.comment(t, a, c.get("body"), attachment),
    "notes": lambda t, a, c, cat, attachment=None: domain.add_internal_note(t, a, c.get("body"), attachment),
    "information-requests": lambda t, a, c, cat: domain.request_information(t, a, c["body"]),
    "cc": lambda t, a, c, cat: domain.change_cc(t, a, c["cc"]),
    "assign": lambda t, a, c, cat, agent: domain.assign(t, a, agent),
    "start": lambda t, a, c, cat: domain.start_work(t, a),
    "reclassify": lambda t, a, c, cat: domain.reclassify(t, a, c["department"], c["reason"], cat),
    "urgency": lambda t, a, c, cat: domain.change_urgency(t, a, c["urgency"], cat),
    "route": lambda t, a, c, cat: domain.route(t, a, c["department"], c["reason"], cat, c["seen_department"]),
    "email-reply": lambda t, a, c, cat, attachment=None, sender_name=None: domain.email_reply(
        t, a, c["sender"], c.get("body"), attachment, c.get("message_id"), c["received_at"], sender_name),
    "resolve": lambda t, a, c, cat: domain.resolve(t, a, c["solution"]),
    "provider-fault": lambda t, a, c, cat: domain.mark_provider_fault(t, a, c["provider_fault"], c["note"]),
    "approve": lambda t, a, c, cat: domain.approve_solution(t, a, c["comment"]),
    "refuse": lambda t, a, c, cat: domain.refuse_solution(t, a, c["reason"]),
    "close": lambda t, a, c, cat: domain.close(t, a, c["reason"]),
    "reopen": lambda t, a, c, cat: domain.reopen(t, a, c["reason"]),
    "merge": None,  # two streams: see Tickets._merge
}
