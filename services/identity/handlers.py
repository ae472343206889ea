"""Identity's application layer: load the command, decide with the domain, append with the
projections and private state in one transaction (a unit of work, helpdesk.application), and
answer without ever revealing whether an address exists. Wired in bootstrap.py; called by the
nameko adapter (service.py) and by the in-process system (helpdesk.system)."""
import datetime as dt
import secrets
import uuid

from helpdesk import contracts, errors, timezones
from helpdesk.application import translated
from helpdesk.contracts import load
from helpdesk.events import stream_name
from helpdesk.eventstore import NO_STREAM, WrongExpectedVersion
from helpdesk.linktokens import LinkTokens, digest, new_nonce

from . import domain, passwords

KEEP_COUNTS = dt.timedelta(days=1)  # far longer than any window that reads them (an hour at most)


def user_stream(user_id):
    return stream_name("user", user_id)


LINK_EVENTS = {"EmailVerificationRequested": domain.VERIFY_EMAIL,
               "PasswordResetRequested": domain.RESET_PASSWORD}


class Identity:
    """`uow`: the unit of work (repositories.py); `config`: the configuration (IDENTITY,
    LINK_SECRET, DEFAULT_TIME_ZONE); `catalog`: the departments and services; `clock()`: the time now, aware."""

    def __init__(self, uow, config, catalog, clock):
        self.uow, self.config, self.catalog, self.clock = uow, config, catalog, clock

    def prune(self):
        """Throttle counts and failed logins are read only within their windows (an hour at most):
        older ones are deleted, so the tables no longer grow with every attempt ever made."""
        with self.uow() as work:
            return work.counters.prune(self.clock() - KEEP_COUNTS)

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def settings(self):
        return self.config.get("IDENTITY") or {}

    def _ttl(self, key, unit, default):
        return dt.timedelta(**{unit: float(self.settings.get(key, default))})

    @property
    def login_policy(self):
        defaults, settings = domain.LoginPolicy(), self.settings
        return domain.LoginPolicy(
            free_failures=int(settings.get("login_free_failures", defaults.free_failures)),
            first_delay=self._ttl("login_first_delay_seconds", "seconds", defaults.first_delay.total_seconds()),
            max_delay=self._ttl("login_max_delay_seconds", "seconds", defaults.max_delay.total_seconds()),
            window=self._ttl("login_window_minutes", "minutes", defaults.window.total_seconds() / 60),
            failures_per_ip=int(settings.get("login_failures_per_ip", defaults.failures_per_ip)),
            ip_window=self._ttl("login_ip_window_minutes", "minutes", defaults.ip_window.total_seconds() / 60),
        )

    @property
    def default_time_zone(self):
        """Recorded for registrations that name no zone, and read for accounts whose events name none."""
        return timezones.default_from(self.config)

    def _user(self, work, user_id):
        return domain.fold(work.events.read_stream(user_stream(user_id)), self.default_time_zone)

    def record(self, work, stream, events, expected_version):
        """Appends identity events, updates the projections, ends the user's outstanding links when
        an event changes what they protect, and keeps the digest of every link token the events
        announce: all in the unit of work's transaction."""
        if not events:
            return []
        try:
            recorded = work.events.append(stream, events, expected_version)
        except WrongExpectedVersion as exc:
            raise errors.Conflict("account_changed_meanwhile", current_version=exc.actual)
        tokens = LinkTokens(self.config["LINK_SECRET"])
        for event in recorded:
            work.directory.project(event)
            if event.type in domain.ENDS_OUTSTANDING_LINKS:
                work.links.void(event.data["user_id"])
            purpose = LINK_EVENTS.get(event.type)
            if purpose:
                data = event.data
                token = tokens.derive(purpose, data["user_id"], data["nonce"])
                work.links.store(digest(token), data["user_id"], purpose, data["email"], data["expires_at"])
        return recorded

    def _decide(self, work, user, decision):
        return self.record(work, user_stream(user.user_id), translated(decision), user.version)

    def _spend(self, work, key, limit, window, now):
        """Counts one attempt for `key` and returns None; when its quota is spent, counts nothing
        and returns the seconds until it may try again."""
        wait = work.counters.retry_after(key, int(limit), window, now)
        if wait is None:
            work.counters.count_attempt(key, now)
        return wait

    @staticmethod
    def _consume_link(work, token, purpose):
        found = work.links.consume(digest(token), purpose)
        if found is None:
            raise errors.invalid("token", "link_invalid_or_used")
        return found

    def _check_catalog_codes(self, command):
        """Departments and services are the catalogue's (catalog.yaml): an unknown code is the
        caller's mistake, named before anything is decided."""
        unknown = set(command.get("departments", ())) - set(self.catalog.departments)
        if unknown:
            raise errors.invalid("departments", "unknown_departments", departments=sorted(unknown))
        unknown = set(command.get("services", ())) - set(self.catalog.services)
        if unknown:
            raise errors.invalid("services", "unknown_services", services=sorted(unknown))

    def _acting_admin(self, work, principal):
        actor = self._user(work, (principal or {}).get("user_id"))
        if actor is None or actor.role != domain.ADMIN:
            raise errors.Forbidden("only_admins")
        return actor

    def _acting_staff(self, work, principal):
        actor = self._user(work, (principal or {}).get("user_id"))
        if actor is None or actor.role not in domain.STAFF:
            raise errors.Forbidden("only_staff")
        return actor

    # -- registration and verification --------------------------------------------------------
    def register(self, command, ip="unknown"):
        """Always answers the same way; an existing address gets a notice mail, not an error."""
        command = load(contracts.RegisterSchema, command)
        command.setdefault("time_zone", self.default_time_zone)
        translated(lambda: domain.check_password(command["password"], command["email"]))
        now = self.clock()
        password_hash = passwords.hash_password(command["password"])  # paid either way: timing
        with self.uow() as work:
            wait = self._spend(work, f"register-ip:{ip}", 20, dt.timedelta(hours=1), now)
            if wait:
                raise errors.TooManyRequests("too_many_registrations", retry_after=wait)
            existing = work.directory.user_id_by_email(command["email"])
            if existing is not None:
                user = self._user(work, existing)
                self.record(work, user_stream(existing), domain.registration_repeated(user), user.version)
                return None
            user_id = uuid.uuid4()
            events = domain.register(user_id, command, now, new_nonce(),
                                     self._ttl("verification_hours", "hours", 48))
            self.record(work, user_stream(user_id), events, NO_STREAM)
            work.credentials.set_password_hash(user_id, password_hash)
        return None

    def resend_verification(self, command, ip="unknown"):
        command = load(contracts.EmailOnlySchema, command)
        now = self.clock()
        with self.uow() as work:
            user_id = work.directory.user_id_by_email(command["email"])
            if user_id is None:
                return None
            if self._spend(work, f"resend:{user_id}", 3, dt.timedelta(hours=1), now):
                return None  # silently: a 429 here would reveal the account
            user = self._user(work, user_id)
            self._decide(work, user, lambda: domain.request_verification(
                user, now, new_nonce(), self._ttl("verification_hours", "hours", 48)))
        return None

    def verify_email(self, command, ip="unknown", user_agent=""):
        """Confirms an address. The first confirmation of a new account also logs it in (the
        mailed, single-use link proves the address, as a reset link does): register → verify →
        logged in. A confirmed change of address starts no session."""
        command = load(contracts.TokenSchema, command)
        with self.uow() as work:
            user_id, email = self._consume_link(work, command["token"], domain.VERIFY_EMAIL)
            user = self._user(work, user_id)
            if email.lower() != user.email.lower() and work.directory.email_taken(email, user_id):
                raise errors.Conflict("address_taken_meanwhile")
            self._decide(work, user, lambda: domain.verify_email(user, email))
            if user.verified or not user.active:
                return {"email": email}
            session = self._new_session(work, self._user(work, user_id), self.clock(), ip, user_agent)
        return {"email": email, "session": session}

    # -- sessions ----------------------------------------------------------------------------
    def login(self, command, ip="unknown", user_agent=""):
        """Failures slow down the clients that fail (domain.login_retry_after); an unknown
        address is throttled, hashed and answered exactly like a wrong password. Each attempt is
        counted as a failure before the password is checked, and forgotten if it was right, so
        attempts sent at once cannot all slip through before the first is counted."""
        command = load(contracts.LoginSchema, command)
        now, policy = self.clock(), self.login_policy
        account = digest(command["email"].lower())  # the address tried, whether or not it exists
        with self.uow() as work:
            work.lock(f"identity.login {account}")
            failures = work.counters.login_failures(account, ip, now - max(policy.window, policy.ip_window))
            wait = domain.login_retry_after(policy, now, *failures)
            if not wait:
                work.counters.count_login_failure(account, ip, now)
            user_id = work.directory.user_id_by_email(command["email"])
            stored_hash = work.credentials.password_hash(user_id) if user_id else None
        if wait:
            raise errors.TooManyRequests("too_many_logins", retry_after=wait)
        # An unknown address pays the same hash cost as a wrong password.
        matches = passwords.verify(stored_hash or passwords.DUMMY_HASH, command["password"])
        if not (user_id and stored_hash and matches):
            raise errors.Unauthorized("wrong_email_or_password")
        with self.uow() as work:
            work.counters.clear_login_failures(account, ip)  # the right password, whatever comes next
        with self.uow() as work:
            user = self._user(work, user_id)
            if not user.active:
                raise errors.Forbidden("account_disabled", code="account_disabled")
            if not user.verified:
                raise errors.Forbidden("email_not_verified", code="email_not_verified")
            if passwords.needs_rehash(stored_hash):
                work.credentials.set_password_hash(user_id, passwords.hash_password(command["password"]))
            return self._new_session(work, user, now, ip, user_agent)

    def _new_session(self, work, user, now, ip, user_agent):
        token = secrets.token_urlsafe(32)  # 256 random bits; only its digest is stored
        expires_at = now + self._ttl("session_hours", "hours", 12)
        work.sessions.start(digest(token), user.user_id, expires_at, ip, user_agent)
        return {"token": token, "expires_at": expires_at.isoformat(), "user": user.principal()}

    def authenticate(self, token):
        """The principal behind a session token; Unauthorized for any token that is not live."""
        if not isinstance(token, str) or not 20 <= len(token) <= 200:
            raise errors.Unauthorized("session_invalid")
        with self.uow() as work:
            user_id = work.sessions.user_of(digest(token))
            user = self._user(work, user_id) if user_id else None
            if user is None or not user.active:
                raise errors.Unauthorized("session_invalid")
            return user.principal()

    def logout(self, token):
        if isinstance(token, str):
            with self.uow() as work:
                work.sessions.revoke(digest(token))
        return None

    # -- passwords ---------------------------------------------------------------------------
    def forgot_password(self, command, ip="unknown"):
        """Always answers the same way. Per IP: 429; per account: silently no more mails."""
        command = load(contracts.EmailOnlySchema, command)
        now, hour = self.clock(), dt.timedelta(hours=1)
        with self.uow() as work:
            wait = self._spend(work, f"reset-ip:{ip}", self.settings.get("resets_per_ip_hour", 10), hour, now)
            if wait:
                raise errors.TooManyRequests("too_many_requests", retry_after=wait)
            user_id = work.directory.user_id_by_email(command["email"])
            if user_id is None:
                return None
            if self._spend(work, f"reset-account:{user_id}",
                               self.settings.get("resets_per_account_hour", 3), hour, now):
                return None  # silently, likewise
            user = self._user(work, user_id)
            self._decide(work, user, lambda: domain.request_password_reset(
                user, now, new_nonce(), self._ttl("reset_minutes", "minutes", 30)))
        return None

    def reset_password(self, command):
        command = load(contracts.ResetPasswordSchema, command)
        with self.uow() as work:
            user = self._user(work, self._consume_link(work, command["token"], domain.RESET_PASSWORD)[0])
            events = self._decide(work, user, lambda: domain.change_password(user, command["password"], "reset")
                                  + ([] if user.verified else domain.verify_email(user, user.email)))
            work.credentials.set_password_hash(user.user_id, passwords.hash_password(command["password"]))
            work.sessions.revoke_all(user.user_id)  # its PasswordChanged ended every other link
        return {"changed": bool(events)}

    def change_password(self, principal, command, ip="unknown", user_agent=""):
        """Every session of the user ends, this one included; the answer carries a new one."""
        command = load(contracts.ChangePasswordSchema, command)
        user = self._confirmed(principal, command["current_password"], "current_password")
        reason = "first_login" if user.must_change_password else "user"
        if command["new_password"] == command["current_password"]:
            raise errors.invalid("new_password", "password_unchanged")
        new_hash = passwords.hash_password(command["new_password"])
        with self.uow() as work:
            self._decide(work, user, lambda: domain.change_password(user, command["new_password"], reason))
            work.credentials.set_password_hash(user.user_id, new_hash)
            work.sessions.revoke_all(user.user_id)
            return self._new_session(work, self._user(work, user.user_id), self.clock(), ip, user_agent)

    def _confirmed(self, principal, password, field):
        """The principal's account, once `password` (the command's `field`) is its password. The
        hash is checked outside any transaction: it takes tens of milliseconds."""
        with self.uow() as work:
            user = self._user(work, principal["user_id"])
            stored_hash = work.credentials.password_hash(user.user_id)
        if not passwords.verify(stored_hash, password):
            raise errors.invalid(field, "wrong_current_password")
        return user

    # -- profile -----------------------------------------------------------------------------
    def get_profile(self, principal):
        with self.uow() as work:
            user = self._user(work, principal["user_id"])
        return dict(user.principal(), phone=user.phone, verified=user.verified)

    def update_profile(self, principal, command):
        command = load(contracts.ProfileUpdateSchema, command)
        with self.uow() as work:
            user = self._user(work, principal["user_id"])
            self._decide(work, user, lambda: domain.update_profile(user, command))
        return self.get_profile(principal)

    def request_email_change(self, principal, command):
        """The new address gets a verification link; the change happens when it is followed."""
        command = load(contracts.EmailChangeSchema, command)
        user = self._confirmed(principal, command["password"], "password")
        with self.uow() as work:
            if work.directory.email_taken(command["new_email"], user.user_id):
                return None  # same answer as success: addresses are not revealed
            self._decide(work, user, lambda: domain.request_email_change(
                user, command["new_email"], self.clock(), new_nonce(),
                self._ttl("verification_hours", "hours", 48)))
        return None

    # -- administration ----------------------------------------------------------------------
    def create_company(self, principal, command):
        command = load(contracts.CreateCompanySchema, command)
        with self.uow() as work:
            actor = self._acting_admin(work, principal)
            if work.directory.company_by_name(command["name"]):
                raise errors.Conflict("company_exists", {"name": command["name"]})
            company_id = uuid.uuid4()
            self.record(work, stream_name("company", company_id),
                         domain.register_company(company_id, command["name"], str(actor.user_id)), NO_STREAM)
        return {"company_id": str(company_id), "name": command["name"]}

    def list_companies(self, principal):
        with self.uow() as work:
            self._acting_admin(work, principal)
            return work.directory.list_companies()

    def create_user(self, principal, command):
        """An account created by staff; the user is mailed a one-time password."""
        command = load(contracts.CreateUserSchema, command)
        command.setdefault("time_zone", self.default_time_zone)
        self._check_catalog_codes(command)
        company_id = command.get("company_id")
        if company_id:
            command["company_id"] = str(company_id)
        user_id = uuid.uuid4()
        nonce = new_nonce()
        initial = LinkTokens(self.config["LINK_SECRET"]).initial_password(str(user_id), nonce)
        initial_hash = passwords.hash_password(initial)
        with self.uow() as work:
            actor = self._acting_admin(work, principal)
            if company_id and not work.directory.company_exists(company_id):
                raise errors.invalid("company_id", "no_such_company")
            if work.directory.email_taken(command["email"]):
                raise errors.Conflict("account_exists")
            events = translated(lambda: domain.create_user(user_id, command, nonce, str(actor.user_id)))
            recorded = self.record(work, user_stream(user_id), events, NO_STREAM)
            work.credentials.set_password_hash(user_id, initial_hash)
        return domain.fold(recorded).principal()

    def list_users(self, principal, company_id=None):
        company_id = load(contracts.UserFiltersSchema, {"company_id": company_id} if company_id else {}).get(
            "company_id")
        with self.uow() as work:
            self._acting_admin(work, principal)
            return work.directory.list_users(company_id)

    def find_people(self, principal, filters):
        """Staff look for a customer (to open a ticket for one who phoned) or a colleague."""
        filters = load(contracts.PeopleFiltersSchema, filters)
        roles = {"customer": (domain.CUSTOMER,), "staff": tuple(sorted(domain.STAFF))}.get(filters.get("kind"), ())
        with self.uow() as work:
            self._acting_staff(work, principal)
            return work.directory.find_people(filters.get("text"), roles, filters["limit"])

    def contact_card(self, principal, user_id):
        """Staff see who wrote a ticket: how to reach them, their language, their company."""
        with self.uow() as work:
            self._acting_staff(work, principal)
            user = self._known_user(work, user_id)
            company = work.directory.company_name(user.company_id) if user.company_id else None
        return {"user_id": str(user.user_id), "name": user.name, "email": user.email, "phone": user.phone,
                "language": user.language, "time_zone": user.time_zone, "company_id": user.company_id,
                "company_name": company, "is_group": user.is_group, "company_admin": user.company_admin,
                "active": user.active}

    def _known_user(self, work, user_id):
        try:
            user = self._user(work, uuid.UUID(str(user_id)))
        except ValueError:
            user = None
        if user is None:
            raise errors.NotFound("no_user", {"id": str(user_id)})
        return user

    def update_user(self, principal, user_id, command):
        """Admins change an agent's departments or a customer's services, or deactivate /
        reactivate an account: each change its own event, all in one transaction."""
        command = load(contracts.UpdateUserSchema, command)
        self._check_catalog_codes(command)
        with self.uow() as work:
            actor = self._acting_admin(work, principal)
            user = self._known_user(work, user_id)
            if "departments" in command:
                self._decide(work, user, lambda: domain.change_departments(user, command["departments"], str(actor.user_id)))
                user = self._user(work, user.user_id)
            if "services" in command:
                self._decide(work, user, lambda: domain.change_services(user, command["services"], str(actor.user_id)))
                user = self._user(work, user.user_id)
            if "active" in command:
                self._decide(work, user, lambda: domain.set_active(user, command["active"], str(actor.user_id)))
                if not command["active"]:
                    work.sessions.revoke_all(user.user_id)
            user = self._user(work, user.user_id)
        return dict(user.principal(), active=user.active)

    def get_principal(self, user_id):
        """Another service's question: who is this user (to open a ticket for them, to assign to
        them)? Deactivated accounts are not found."""
        try:
            user_id = uuid.UUID(str(user_id))
        except ValueError:
            raise errors.NotFound("no_user", {"id": str(user_id)})
        with self.uow() as work:
            user = self._user(work, user_id)
        if user is None or not user.active:
            raise errors.NotFound("no_user", {"id": str(user_id)})
        return user.principal()

    def principal_by_email(self, email, include_deactivated=False):
        """Another service's question: whose address is this (an email that reached us)? A
        deactivated account is not found, unless `include_deactivated` (the inbound mail refuses
        its mail): then the answer says `active`."""
        with self.uow() as work:
            user_id = work.directory.user_id_by_email(str(email))
            user = self._user(work, user_id) if user_id else None
        if user is None or not (user.active or include_deactivated):
            raise errors.NotFound("no_such_user")
        return dict(user.principal(), active=user.active) if include_deactivated else user.principal()
