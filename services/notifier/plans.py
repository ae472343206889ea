"""Which mails an event causes: pure. The directory (the notifier's projections) is the only
outside knowledge it needs: who is on a ticket, and each recipient's language and time zone."""
import dataclasses
import datetime as dt

from helpdesk.linktokens import RESET_PASSWORD, VERIFY_EMAIL

DEFAULT_LANGUAGE = "es"


@dataclasses.dataclass(frozen=True)
class Mail:
    recipient: str
    language: str
    template: str
    context: dict


def mails_for(event, directory):
    """The mails `event` causes, each to one recipient. `directory` (contacts.Directory) answers
    who people are and who is on a ticket."""
    planner = PLANNERS.get(event.type)
    return planner(event, directory) if planner else []


def mail_to(address, person, template, context):
    """A mail in `person`'s language, its times in their zone (`time_zone` in the context; none
    for an address with no account, which the renderer reads as the configured default)."""
    person = person or {}
    return Mail(address, person.get("language") or DEFAULT_LANGUAGE, template,
                {**context, "time_zone": person.get("time_zone")})


def reachable(contact):
    """A contact the ticket mails may go to: none (an address with no account), or an active one."""
    return contact is None or contact.get("active", True)


def _account(contact, data):
    """The mail's recipient account of an identity event, or {}."""
    return (contact(data["user_id"]) if data.get("user_id") else None) or {}


def _link(purpose, data, path):
    """A link whose token the renderer derives from (purpose, user, nonce)."""
    return {"purpose": purpose, "subject": data["user_id"], "nonce": data["nonce"], "path": path}


def _verification(data, contact):
    account = _account(contact, data)
    return [mail_to(data["email"], account, "verify_email", {
        "name": account.get("name", ""), "expires_at": data["expires_at"],
        "link": _link(VERIFY_EMAIL, data, "/verify-email"),
    })]


def _reset(data, contact):
    account = _account(contact, data)
    return [mail_to(data["email"], account, "reset_password", {
        "name": account.get("name", ""), "expires_at": data["expires_at"],
        "link": _link(RESET_PASSWORD, data, "/reset-password"),
    })]


def _repeated(data, contact):
    account = _account(contact, data)
    return [mail_to(data["email"], account, "account_exists", {"name": account.get("name", "")})]


def _password_changed(data, contact):
    account = _account(contact, data)
    return [mail_to(data["email"], account, "password_changed",
                    {"name": account.get("name", ""), "reason": data["reason"]})]


def _email_changed(data, contact):
    account = _account(contact, data)
    context = {"name": account.get("name", ""), "old_email": data["old_email"], "new_email": data["new_email"]}
    # the old address learns of the change (it may not be its owner's doing); the new one confirms
    return [mail_to(data["old_email"], account, "email_changed", context),
            mail_to(data["new_email"], account, "email_changed", context)]


def _credentials(data, contact):
    account = _account(contact, data)
    return [mail_to(data["email"], account, "credentials", {
        "name": account.get("name", ""), "email": data["email"],
        "initial_password": {"subject": data["user_id"], "nonce": data["nonce"]},
    })]


# -- tickets ----------------------------------------------------------------------------------

# Customer-visible ticket events after the opening, and what the update mail says (`kind`).
# Internal notes and the provider-fault flag are not here: they are never mailed to customers.
UPDATES = {
    "TicketRouted": "routed", "TicketReclassified": "routed", "TicketAssigned": "assigned",
    "WorkStarted": "started", "StaffReplied": "reply", "InformationRequested": "information_requested",
    "CustomerCommented": "comment", "UrgencyChanged": "urgency", "CcChanged": "cc",
    "SolutionApproved": "approved", "SolutionRefused": "reopened", "TicketReopened": "reopened",
    "TicketClosed": "closed", "TicketMerged": "merged", "DuplicateMerged": "duplicate",
}
# Events that put a ticket in a department's queue: its agents hear of it.
QUEUED = frozenset({"TicketOpened", "TicketRouted", "TicketReclassified"})
APPROVAL_DAYS = 14  # how long the approve / refuse links of a resolution mail work


def customer_side(ticket, directory):
    """(address, contact or None, may_decide) of everyone on the customer's side of a ticket: the
    requester, the company's group users (who see every ticket of their company, and may approve
    for it), and the copied addresses. Each address once."""
    people = []
    requester = directory.contact(ticket["requester_id"]) or directory.contact_by_email(ticket["requester_email"])
    people.append((ticket["requester_email"], requester, True))
    people += [(group["email"], group, True) for group in directory.group_users(ticket["company_id"])]
    opted_out = directory.opted_out(ticket["ticket_id"])
    people += [(address, directory.contact_by_email(address), False) for address in ticket["cc"]
               if address.lower() not in opted_out]
    seen, unique = set(), []
    for address, contact, may_decide in people:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append((address, contact, may_decide))
    return unique


def _ticket_context(ticket, data, **extra):
    return {"ticket_id": ticket["ticket_id"] if isinstance(ticket["ticket_id"], str) else str(ticket["ticket_id"]),
            "reference": ticket["reference"], "title": ticket["title"],
            "path": f"/tickets/{ticket['ticket_id']}", **extra}


def _author(data):
    """(user id, address) of whoever wrote a follow-up; the address only for an email reply."""
    by = data.get("by") or {}
    return by.get("user_id"), ((data.get("email") or {}).get("sender") or "").lower()


def _for_customers(event, directory, template, context_of, skip_author=False):
    ticket = directory.ticket(event.data["ticket_id"])
    if ticket is None:
        return [], None
    author_id, author_address = _author(event.data)
    mails = []
    for address, contact, may_decide in customer_side(ticket, directory):
        if not reachable(contact):
            continue  # a deactivated account: no more ticket mail
        if skip_author and ((contact and contact.get("user_id") and str(contact["user_id"]) == author_id)
                            or address.lower() == author_address):
            continue
        context = context_of(ticket, address, may_decide)
        if not may_decide:  # a copied address: its mails let it stop them (List-Unsubscribe)
            context["unsubscribe"] = {"ticket_id": str(ticket["ticket_id"]), "recipient": address}
        mails.append(mail_to(address, contact, template, context))
    return mails, ticket


def _staff_new_ticket(event, directory, ticket):
    department = event.data.get("department")
    if not department:
        return []
    return [mail_to(agent["email"], agent, "staff_ticket",
                    _ticket_context(ticket, event.data, kind="queued", department=department))
            for agent in directory.agents_of(department)]


def _ticket_opened(event, directory):
    data = event.data
    mails, ticket = _for_customers(event, directory, "ticket_opened",
                                   lambda t, address, may_decide: _ticket_context(t, data, status="new"))
    return mails + (_staff_new_ticket(event, directory, ticket) if ticket else [])


def _ticket_update(event, directory):
    data, kind = event.data, UPDATES[event.type]
    details = {key: data[key] for key in ("body", "reason", "comment", "department", "urgency", "agent_name",
                                          "into_reference", "duplicate_reference", "cc") if data.get(key)}
    mails, ticket = _for_customers(
        event, directory, "ticket_update",
        lambda t, address, may_decide: _ticket_context(t, data, kind=kind, at=event.occurred_at.isoformat(),
                                                       **details),
        skip_author=event.type == "CustomerCommented")
    if ticket is None:
        return []
    if event.type in QUEUED:
        mails += _staff_new_ticket(event, directory, ticket)
    if event.type == "CustomerCommented" and ticket["assignee_id"]:
        agent = directory.contact(ticket["assignee_id"])
        if agent and reachable(agent):
            mails.append(mail_to(agent["email"], agent, "staff_ticket",
                                 _ticket_context(ticket, data, kind="customer_replied", **details)))
    return mails


def _ticket_resolved(event, directory):
    """The solution, and for those who may decide (requester, group users) signed one-click links
    to approve or refuse it, bound to the ticket, the recipient and this resolution."""
    data = event.data
    expires_at = (event.occurred_at + dt.timedelta(days=APPROVAL_DAYS)).isoformat()

    def context(ticket, address, may_decide):
        values = _ticket_context(ticket, data, solution=data["solution"])
        if may_decide:
            values["decision"] = {"ticket_id": str(ticket["ticket_id"]), "recipient": address,
                                  "resolution": event.stream_position, "expires_at": expires_at}
        return values

    mails, _ = _for_customers(event, directory, "ticket_resolved", context)
    return mails


def _sla_alert(kind):
    def plan(event, directory):
        data = event.data
        context = {"ticket_id": data["ticket_id"], "reference": data.get("reference", ""),
                   "clock": data["clock"], "due_at": data.get("due_at"), "department": data.get("department"),
                   "kind": kind, "path": f"/tickets/{data['ticket_id']}"}
        recipients = list(directory.supervisors())
        if data.get("assignee_id"):
            agent = directory.contact(data["assignee_id"])
            if agent and reachable(agent):
                recipients.insert(0, agent)
        seen, mails = set(), []
        for person in recipients:
            if person["email"].lower() not in seen:
                seen.add(person["email"].lower())
                mails.append(mail_to(person["email"], person, "sla_alert", context))
        return mails
    return plan


def _identity(planner):
    return lambda event, directory: planner(event.data, directory.contact)


def _every_language(texts):
    """{es, en} with a text missing in one language taken from the other (the renderer picks the
    reader's)."""
    return {code: texts.get(code) or texts.get("es") or texts.get("en") or "" for code in ("es", "en")}


def _incident_update(event, directory):
    """An incident's update, once to every address on the customer side of its linked tickets
    that are still open (one mail per address, however many of its tickets are linked), with
    the references of that address's tickets."""
    data = event.data
    tickets_of = {}
    people = {}
    for ticket_id in data.get("tickets") or ():
        ticket = directory.ticket(ticket_id)
        if ticket is None or ticket.get("closed"):
            continue
        for address, contact, _ in customer_side(ticket, directory):
            if reachable(contact):
                people.setdefault(address.lower(), (address, contact))
                tickets_of.setdefault(address.lower(), []).append(ticket["reference"])
    context = {"incident_id": data["incident_id"], "status": data["status"], "title": _every_language(data["title"]),
               "message": _every_language(data["message"]),
               "resolve_tickets": data.get("resolve_tickets", False),
               "path": f"/network-status#incident-{data['incident_id']}"}
    return [mail_to(address, contact, "incident_update", dict(context, references=tickets_of[key]))
            for key, (address, contact) in people.items()]


def _status_change(event, directory):
    """An incident declared or updated, to every address subscribed to one of its services (a
    customer's choice on the status page), with a one-click link that ends the subscription."""
    data = event.data
    context = {"incident_id": data["incident_id"], "status": data["status"], "title": _every_language(data["title"]),
               "message": _every_language(data["message"]), "declared": event.type == "IncidentDeclared",
               "path": f"/network-status#incident-{data['incident_id']}"}
    mails = []
    for address, user_id in directory.status_subscribers(data.get("services") or ()):
        contact = directory.contact(user_id)
        if reachable(contact):
            mails.append(mail_to(address, contact, "status_change",
                                 dict(context, unsubscribe={"ticket_id": "status", "recipient": address})))
    return mails


def _incident(event, directory):
    """The customers of the linked tickets first, then the subscribers: an address that is both
    gets the one mail (the outbox keeps one per event and address)."""
    linked = _incident_update(event, directory) if event.type == "IncidentUpdated" else []
    told = {mail.recipient.lower() for mail in linked}
    return linked + [mail for mail in _status_change(event, directory) if mail.recipient.lower() not in told]


PLANNERS = {
    **{event_type: _ticket_update for event_type in UPDATES},
    "TicketOpened": _ticket_opened,
    "TicketResolved": _ticket_resolved,
    "SlaWarning": _sla_alert("warning"),
    "SlaBreached": _sla_alert("breach"),
    "EmailVerificationRequested": _identity(_verification),
    "PasswordResetRequested": _identity(_reset),
    "RegistrationRepeated": _identity(_repeated),
    "PasswordChanged": _identity(_password_changed),
    "EmailChanged": _identity(_email_changed),
    "InitialCredentialsIssued": _identity(_credentials),
    "IncidentDeclared": _incident,
    "IncidentUpdated": _incident,
}
