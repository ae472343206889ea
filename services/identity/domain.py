"""Identity decisions: pure functions over a user's state. No I/O, no hashing, no clock of its own.

Secrets never enter events: a password hash, a session token or a link token's digest is private
state of the service (tables `credentials`, `sessions`, `link_tokens`). Events carry facts, and
for mailed links only a nonce that is useless without the link secret (see helpdesk.linktokens).
"""
import dataclasses
import datetime as dt
import functools
import math
import uuid

from helpdesk import refusals
from helpdesk.events import NewEvent
from helpdesk.events import fold as events_fold
from helpdesk.timezones import FALLBACK as DEFAULT_TIME_ZONE

CUSTOMER, AGENT, SUPERVISOR, ADMIN = "customer", "agent", "supervisor", "admin"
ROLES = (CUSTOMER, AGENT, SUPERVISOR, ADMIN)
STAFF = frozenset({AGENT, SUPERVISOR, ADMIN})
LANGUAGES = ("es", "en")
PASSWORD_MIN, PASSWORD_MAX = 8, 128

from helpdesk.linktokens import RESET_PASSWORD, VERIFY_EMAIL  # noqa: E402,F401 (re-exported)

# A link mailed before one of these proves nothing afterwards (a reset sent to the old address,
# a confirmation of an address given up): every outstanding link of the user dies with them.
ENDS_OUTSTANDING_LINKS = frozenset({"EmailChanged", "PasswordChanged"})


RuleBroken = refusals.RuleBroken  # re-exported: the domain raises it, the application layer translates


@functools.lru_cache(maxsize=1)
def common_passwords():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password, email=""):
    """Why a new password is refused, as (code, params), or None. Length and commonness only: no
    composition rules (NIST SP 800-63B)."""
    if len(password) < PASSWORD_MIN:
        return "password_too_short", {"min": PASSWORD_MIN}
    if len(password) > PASSWORD_MAX:
        return "password_too_long", {"max": PASSWORD_MAX}
    lowered = password.lower()
    if lowered in common_passwords():
        return "password_too_common", {}
    local_part = email.split("@")[0].lower()
    if lowered in (email.lower(), local_part):
        return "password_is_email", {}
    return None


def check_password(password, email="", field="password"):
    problem = password_problem(password, email)
    if problem:
        code, params = problem
        raise RuleBroken(field, code, **params)


@dataclasses.dataclass(frozen=True)
class User:
    user_id: uuid.UUID
    email: str
    name: str
    phone: str | None
    language: str
    role: str
    company_id: str | None
    is_group: bool
    company_admin: bool
    departments: tuple
    verified: bool
    must_change_password: bool
    version: int
    active: bool = True
    time_zone: str = DEFAULT_TIME_ZONE  # IANA name: the zone every time mailed to the user is written in
    services: tuple = ()  # codes of catalog.yaml's services a customer has contracted: what they are told about

    @property
    def is_staff(self):
        return self.role in STAFF

    def principal(self):
        """Who is acting, as every other service sees it (helpdesk.contracts.PrincipalSchema)."""
        return {
            "user_id": str(self.user_id),
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "company_id": self.company_id,
            "is_group": self.is_group,
            "company_admin": self.company_admin,
            "departments": list(self.departments),
            "services": list(self.services),
            "language": self.language,
            "time_zone": self.time_zone,
            "must_change_password": self.must_change_password,
        }


def _expiry(now, delta):
    return (now + delta).isoformat()


def _registered(user_id, command, *, verified, must_change_password, actor, channel):
    return NewEvent("UserRegistered", {
        "user_id": str(user_id),
        "email": command["email"],
        "name": command["name"],
        "phone": command.get("phone"),
        "language": command.get("language", "es"),
        "time_zone": command.get("time_zone") or DEFAULT_TIME_ZONE,  # the service gives the configured one
        "role": command.get("role", CUSTOMER),
        "company_id": command.get("company_id"),
        "is_group": command.get("is_group", False),
        "company_admin": command.get("company_admin", False),
        "departments": sorted(command.get("departments", [])),
        "services": sorted(set(command.get("services", []))),
        "verified": verified,
        "must_change_password": must_change_password,
    }, actor=actor, channel=channel)


def register(user_id, command, now, nonce, verification_ttl):
    """Self-registration: a customer account that cannot log in until its email is verified."""
    check_password(command["password"], command["email"])
    customer = {k: command.get(k) for k in ("email", "name", "phone", "language", "time_zone") if command.get(k)}
    return [
        _registered(user_id, customer, verified=False, must_change_password=False,
                    actor=str(user_id), channel="portal"),
        _verification_requested(user_id, command["email"], now, nonce, verification_ttl),
    ]


def _verification_requested(user_id, email, now, nonce, ttl):
    return NewEvent("EmailVerificationRequested", {
        "user_id": str(user_id), "email": email, "nonce": nonce, "expires_at": _expiry(now, ttl),
    })


def registration_repeated(user):
    """Someone registered with an address that has an account: tell its owner, tell nobody else."""
    return [NewEvent("RegistrationRepeated", {"user_id": str(user.user_id), "email": user.email})]


def request_verification(user, now, nonce, ttl):
    if user.verified:
        return []
    return [_verification_requested(user.user_id, user.email, now, nonce, ttl)]


def verify_email(user, email):
    """Following a verification link: verifies the account's address, or completes a change."""
    if email.lower() == user.email.lower():
        return [] if user.verified else [NewEvent("EmailVerified", {"user_id": str(user.user_id), "email": email})]
    return [NewEvent("EmailChanged", {"user_id": str(user.user_id), "old_email": user.email, "new_email": email})]


def request_email_change(user, new_email, now, nonce, ttl):
    if new_email.lower() == user.email.lower():
        raise RuleBroken("email", "already_your_address")
    return [_verification_requested(user.user_id, new_email, now, nonce, ttl)]


def request_password_reset(user, now, nonce, ttl):
    return [NewEvent("PasswordResetRequested", {
        "user_id": str(user.user_id), "email": user.email, "nonce": nonce,
        "expires_at": _expiry(now, ttl),
    })]


def change_password(user, new_password, reason):
    """`reason`: "user" (changed in the profile), "reset" (forgot password), "first_login"."""
    check_password(new_password, user.email, field="new_password" if reason != "reset" else "password")
    return [NewEvent("PasswordChanged", {"user_id": str(user.user_id), "email": user.email, "reason": reason})]


def update_profile(user, changes):
    if not changes:
        return []
    data = {"user_id": str(user.user_id), "name": user.name, "phone": user.phone, "language": user.language,
            "time_zone": user.time_zone}
    data.update(changes)
    return [NewEvent("ProfileUpdated", data)]


def _check_staff_command(command):
    role = command["role"]
    if role == CUSTOMER and not command.get("company_id"):
        raise RuleBroken("company_id", "customer_needs_company")
    if role != AGENT and command.get("departments"):
        raise RuleBroken("departments", "only_agents_have_departments")
    if role == AGENT and not command.get("departments"):
        raise RuleBroken("departments", "agent_needs_department")
    if role in STAFF and (command.get("is_group") or command.get("company_admin")):
        raise RuleBroken("role", "staff_not_group_or_company_admin")
    if role != CUSTOMER and command.get("services"):
        raise RuleBroken("services", "only_customers_have_services")


def create_user(user_id, command, nonce, actor):
    """An account created by staff: verified (staff vouch for the address), with a one-time
    password mailed to the user, which must be changed at first login."""
    _check_staff_command(command)
    return [
        _registered(user_id, command, verified=True, must_change_password=True, actor=actor, channel="staff"),
        NewEvent("InitialCredentialsIssued", {
            "user_id": str(user_id), "email": command["email"], "nonce": nonce,
        }, actor=actor, channel="staff"),
    ]


def enrol(user_id, command, actor):
    """A ready-to-use account (demo and seed data): verified, no password change required."""
    _check_staff_command(command)
    return [_registered(user_id, command, verified=True, must_change_password=False, actor=actor,
                        channel="system")]


def change_departments(user, departments, actor):
    if user.role != AGENT:
        raise RuleBroken("departments", "only_agents_have_departments")
    if not departments:
        raise RuleBroken("departments", "agent_needs_department")
    if sorted(departments) == sorted(user.departments):
        return []
    return [NewEvent("AgentDepartmentsChanged", {"user_id": str(user.user_id), "departments": sorted(departments)},
                     actor=actor, channel="staff")]


def change_services(user, services, actor):
    """The services a customer has contracted (catalog codes, checked by the caller against the
    catalogue): what decides which announcements for chosen services they read. Staff read every
    announcement, so only customers have services; an empty list is allowed (a contract ended)."""
    if user.role != CUSTOMER:
        raise RuleBroken("services", "only_customers_have_services")
    chosen = sorted(set(services))
    if chosen == sorted(user.services):
        return []
    return [NewEvent("CustomerServicesChanged", {"user_id": str(user.user_id), "services": chosen},
                     actor=actor, channel="staff")]


def set_active(user, active, actor):
    """Deactivated accounts cannot log in and their sessions end; nothing is deleted."""
    if str(user.user_id) == actor and not active:
        raise RuleBroken("active", "cannot_deactivate_yourself")
    if user.active == active:
        return []
    return [NewEvent("UserReactivated" if active else "UserDeactivated", {"user_id": str(user.user_id)},
                     actor=actor, channel="staff")]


def register_company(company_id, name, actor):
    return [NewEvent("CompanyRegistered", {"company_id": str(company_id), "name": name}, actor=actor)]


def evolve(user, event, default_time_zone=DEFAULT_TIME_ZONE):
    """`default_time_zone`: the zone of accounts whose events name none (registered before
    profiles had one); the service passes the configured DEFAULT_TIME_ZONE."""
    data = event.data
    if event.type == "UserRegistered":
        return User(
            user_id=uuid.UUID(data["user_id"]), email=data["email"], name=data["name"],
            phone=data.get("phone"), language=data["language"], role=data["role"],
            company_id=data.get("company_id"), is_group=data["is_group"],
            company_admin=data["company_admin"], departments=tuple(data["departments"]),
            verified=data["verified"], must_change_password=data["must_change_password"],
            version=event.stream_position, time_zone=data.get("time_zone") or default_time_zone,
            services=tuple(data.get("services") or ()),  # registered before customers had services: none
        )
    changes = {"version": event.stream_position}
    if event.type == "EmailVerified":
        changes["verified"] = True
    elif event.type == "EmailChanged":
        changes.update(email=data["new_email"], verified=True)
    elif event.type == "PasswordChanged":
        changes["must_change_password"] = False
    elif event.type == "ProfileUpdated":
        changes.update(name=data["name"], phone=data["phone"], language=data["language"],
                       time_zone=data.get("time_zone") or user.time_zone)
    elif event.type == "AgentDepartmentsChanged":
        changes["departments"] = tuple(data["departments"])
    elif event.type == "CustomerServicesChanged":
        changes["services"] = tuple(data["services"])
    elif event.type in ("UserDeactivated", "UserReactivated"):
        changes["active"] = event.type == "UserReactivated"
    return dataclasses.replace(user, **changes)


def fold(events, default_time_zone=DEFAULT_TIME_ZONE):
    return events_fold(functools.partial(evolve, default_time_zone=default_time_zone), events)


def retry_after(failure_times, now, limit, window):
    """Seconds until a throttled key may try again (None when not throttled). Pure: the service
    passes the times of the recent failures."""
    recent = sorted(t for t in failure_times if t > now - window)
    if len(recent) < limit:
        return None
    # blocked until the oldest failure that keeps the count at the limit leaves the window
    unblock_at = recent[-limit] + window
    return max(1, int((unblock_at - now).total_seconds()) + 1)


@dataclasses.dataclass(frozen=True)
class LoginPolicy:
    """How failed logins slow down guessing without locking anyone out (OWASP ASVS 5, NIST SP
    800-63B): an account's failures delay only the clients that have failed on it themselves, so
    an attacker cannot keep the owner out; and an address is refused only after far more failures
    than an office behind one NAT makes."""

    free_failures: int = 5  # failures of an account before any delay
    first_delay: dt.timedelta = dt.timedelta(seconds=1)  # then doubling with each failure...
    max_delay: dt.timedelta = dt.timedelta(minutes=15)  # ...up to this
    window: dt.timedelta = dt.timedelta(hours=1)  # how long an account's failures count
    failures_per_ip: int = 100  # failures from one address, whatever the accounts...
    ip_window: dt.timedelta = dt.timedelta(minutes=15)  # ...within this

    def delay(self, failures):
        """The wait after an account's `failures`-th failure."""
        if failures < self.free_failures:
            return dt.timedelta(0)
        doublings = min(failures - self.free_failures, 32)  # 2**32 s is past any cap
        return min(self.max_delay, self.first_delay * 2 ** doublings)


def login_retry_after(policy, now, account_failures, client_failures, ip_failures):
    """Seconds before this client may try to log in (None: now). `account_failures`: the times of
    the account's failures from every client; `client_failures`: from this client (account and
    address); `ip_failures`: from this address on any account. A clean client (no failures of
    its own) is never slowed by the account's, so the owner's right password is not refused."""
    waits = [retry_after(ip_failures, now, policy.failures_per_ip, policy.ip_window)]
    recent = [t for t in account_failures if t > now - policy.window]
    if recent and any(t > now - policy.window for t in client_failures):
        ready_at = max(recent) + policy.delay(len(recent))
        if ready_at > now:
            waits.append(max(1, math.ceil((ready_at - now).total_seconds())))
    return max(filter(None, waits), default=None)


def utcnow():
    return dt.datetime.now(dt.timezone.utc)
