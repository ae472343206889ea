"""Which mails an event causes: pure. `contact(user_id)` is the only outside knowledge it needs
(the recipient's language), passed in by the service."""
import dataclasses

from helpdesk.linktokens import RESET_PASSWORD, VERIFY_EMAIL

DEFAULT_LANGUAGE = "es"


@dataclasses.dataclass(frozen=True)
class Mail:
    recipient: str
    language: str
    template: str
    context: dict


def mails_for(event, directory):
    """The mails `event` causes, each to one recipient. `directory.contact(user_id)` → dict or
    None; `directory.supervisors()` → [dict]."""
    planner = PLANNERS.get(event.type)
    if planner is None:
        return []
    if event.type in STAFF_PLANNERS:
        return planner(event.data, directory)
    return planner(event.data, directory.contact)


def _language(contact, user_id):
    found = contact(user_id) if user_id else None
    return (found or {}).get("language") or DEFAULT_LANGUAGE


def _name(contact, user_id):
    return ((contact(user_id) if user_id else None) or {}).get("name", "")


def _link(purpose, data, path):
    """A link whose token the renderer derives from (purpose, user, nonce)."""
    return {"purpose": purpose, "subject": data["user_id"], "nonce": data["nonce"], "path": path}


def _verification(data, contact):
    return [Mail(data["email"], _language(contact, data["user_id"]), "verify_email", {
        "name": _name(contact, data["user_id"]), "expires_at": data["expires_at"],
        "link": _link(VERIFY_EMAIL, data, "/verify-email"),
    })]


def _reset(data, contact):
    return [Mail(data["email"], _language(contact, data["user_id"]), "reset_password", {
        "name": _name(contact, data["user_id"]), "expires_at": data["expires_at"],
        "link": _link(RESET_PASSWORD, data, "/reset-password"),
    })]


def _repeated(data, contact):
    return [Mail(data["email"], _language(contact, data["user_id"]), "account_exists",
                 {"name": _name(contact, data["user_id"])})]


def _password_changed(data, contact):
    return [Mail(data["email"], _language(contact, data["user_id"]), "password_changed",
                 {"name": _name(contact, data["user_id"]), "reason": data["reason"]})]


def _email_changed(data, contact):
    context = {"name": _name(contact, data["user_id"]), "old_email": data["old_email"],
               "new_email": data["new_email"]}
    language = _language(contact, data["user_id"])
    # the old address learns of the change (it may not be its owner's doing); the new one confirms
    return [Mail(data["old_email"], language, "email_changed", context),
            Mail(data["new_email"], language, "email_changed", context)]


def _credentials(data, contact):
    return [Mail(data["email"], _language(contact, data["user_id"]), "credentials", {
        "name": _name(contact, data["user_id"]), "email": data["email"],
        "initial_password": {"subject": data["user_id"], "nonce": data["nonce"]},
    })]


def _ticket_opened(data, contact):
    return [Mail(data["requester_email"], _language(contact, data.get("requester_id")), "ticket_opened", {
        "ticket_id": data["ticket_id"], "reference": data.get("reference"), "title": data["title"], "status": "new",
        "path": f"/tickets/{data['ticket_id']}",
    })]


def _sla_alert(kind):
    def plan(data, directory):
        context = {"ticket_id": data["ticket_id"], "reference": data.get("reference", ""),
                   "clock": data["clock"], "due_at": data.get("due_at"), "department": data.get("department"),
                   "kind": kind, "path": f"/tickets/{data['ticket_id']}"}
        recipients = list(directory.supervisors())
        if data.get("assignee_id"):
            agent = directory.contact(data["assignee_id"])
            if agent:
                recipients.insert(0, agent)
        seen, mails = set(), []
        for person in recipients:
            if person["email"].lower() not in seen:
                seen.add(person["email"].lower())
                mails.append(Mail(person["email"], person.get("language") or DEFAULT_LANGUAGE, "sla_alert", context))
        return mails
    return plan


STAFF_PLANNERS = frozenset({"SlaWarning", "SlaBreached"})

PLANNERS = {
    "SlaWarning": _sla_alert("warning"),
    "SlaBreached": _sla_alert("breach"),
    "EmailVerificationRequested": _verification,
    "PasswordResetRequested": _reset,
    "RegistrationRepeated": _repeated,
    "PasswordChanged": _password_changed,
    "EmailChanged": _email_changed,
    "InitialCredentialsIssued": _credentials,
    "TicketOpened": _ticket_opened,
}
