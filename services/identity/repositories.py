"""Identity's tables behind the unit of work (helpdesk.application): on PostgreSQL the SQL of
repository.py on the transaction's cursor; in memory the same methods over dicts
(tests/contract/test_identity_repositories.py holds both to one contract). "Now" in PostgreSQL is
the database's clock; in memory it is the given `clock`."""
import datetime as dt
import uuid

from helpdesk.application import InMemoryTable

from . import domain
from . import repository as sql


# -- PostgreSQL -----------------------------------------------------------------------------------

class Directory:
    """The users and companies projections, and the questions asked of them."""

    def __init__(self, cur):
        self.cur = cur

    def project(self, event):
        sql.project(self.cur, event)

    def user_id_by_email(self, email):
        return sql.user_id_by_email(self.cur, email)

    def email_taken(self, email, except_user=None):
        return sql.email_taken(self.cur, email, except_user)

    def company_exists(self, company_id):
        return sql.company_exists(self.cur, company_id)

    def company_by_name(self, name):
        return sql.company_by_name(self.cur, name)

    def company_name(self, company_id):
        return sql.company_name(self.cur, company_id)

    def list_companies(self):
        return sql.list_companies(self.cur)

    def list_users(self, company_id=None):
        return sql.list_users(self.cur, company_id)

    def find_people(self, text=None, roles=(), limit=20):
        return sql.find_people(self.cur, text, roles, limit)


class Credentials:
    def __init__(self, cur):
        self.cur = cur

    def password_hash(self, user_id):
        return sql.password_hash(self.cur, user_id)

    def set_password_hash(self, user_id, password_hash):
        sql.set_password_hash(self.cur, user_id, password_hash)


class LinkTokens:
    """Digests of mailed links' tokens: single use, expiring."""

    def __init__(self, cur):
        self.cur = cur

    def store(self, token_digest, user_id, purpose, email, expires_at):
        sql.store_link_token(self.cur, token_digest, user_id, purpose, email, expires_at)

    def consume(self, token_digest, purpose):
        return sql.consume_link_token(self.cur, token_digest, purpose)

    def void(self, user_id):
        sql.void_link_tokens(self.cur, user_id)


class Sessions:
    def __init__(self, cur):
        self.cur = cur

    def start(self, token_digest, user_id, expires_at, ip, user_agent):
        sql.start_session(self.cur, token_digest, user_id, expires_at, ip, user_agent)

    def user_of(self, token_digest):
        return sql.session_user(self.cur, token_digest)

    def revoke(self, token_digest):
        sql.revoke_session(self.cur, token_digest)

    def revoke_all(self, user_id):
        sql.revoke_sessions(self.cur, user_id)


class Counters:
    """Throttle counts per key, and failed logins per account and client."""

    def __init__(self, cur):
        self.cur = cur

    def retry_after(self, key, limit, window, now):
        return sql.retry_after(self.cur, key, limit, window, now)

    def count_attempt(self, key, now):
        sql.count_attempt(self.cur, key, now)

    def login_failures(self, account, client, since):
        return sql.login_failures(self.cur, account, client, since)

    def count_login_failure(self, account, client, now):
        sql.count_login_failure(self.cur, account, client, now)

    def clear_login_failures(self, account, client):
        sql.clear_login_failures(self.cur, account, client)

    def prune(self, older_than):
        return sql.prune_counters(self.cur, older_than)


POSTGRES = {"directory": Directory, "credentials": Credentials, "links": LinkTokens, "sessions": Sessions,
            "counters": Counters}


# -- in memory ------------------------------------------------------------------------------------

USER_COLUMNS = ("user_id", "email", "name", "phone", "language", "role", "company_id", "is_group",
                "company_admin", "departments", "services", "verified", "must_change_password", "active", "version")


class InMemoryDirectory(InMemoryTable):
    """rows: ("user", id) -> the users row; ("company", id) -> (name, registered_at)."""

    def project(self, event):
        data, version = event.data, event.stream_position
        if event.type == "UserRegistered":
            row = {column: data.get(column) for column in USER_COLUMNS}
            row.update(user_id=uuid.UUID(str(data["user_id"])), active=True, version=version,
                       departments=list(data.get("departments") or []), services=list(data.get("services") or []))
            self.rows[("user", row["user_id"])] = row
        elif event.type == "CompanyRegistered":
            self.rows[("company", uuid.UUID(str(data["company_id"])))] = data["name"]
        elif "user_id" in data:
            key = ("user", uuid.UUID(str(data["user_id"])))
            change = sql.PROJECTED_CHANGES.get(event.type, lambda data: {})(data)
            self.rows[key] = dict(self.rows[key], **change, version=version)

    def _users(self):
        return [row for (kind, _), row in self.rows.items() if kind == "user"]

    def user_id_by_email(self, email):
        return next((row["user_id"] for row in self._users() if row["email"].lower() == str(email).lower()), None)

    def email_taken(self, email, except_user=None):
        except_user = uuid.UUID(str(except_user)) if except_user else None
        return any(row["email"].lower() == email.lower() and row["user_id"] != except_user for row in self._users())

    def company_exists(self, company_id):
        try:
            return ("company", uuid.UUID(str(company_id))) in self.rows
        except ValueError:
            return False

    def company_by_name(self, name):
        return next((company_id for (kind, company_id), value in self.rows.items()
                     if kind == "company" and value.lower() == name.lower()), None)

    def company_name(self, company_id):
        try:
            return self.rows.get(("company", uuid.UUID(str(company_id))))
        except ValueError:
            return None

    def list_companies(self):
        companies = [(company_id, value) for (kind, company_id), value in self.rows.items() if kind == "company"]
        return [{"company_id": str(c), "name": n} for c, n in sorted(companies, key=lambda found: found[1].lower())]

    def list_users(self, company_id=None):
        keys = sql.USER_LISTING
        rows = [row for row in self._users() if company_id is None or str(row["company_id"]) == str(company_id)]
        return [{k: (str(row[k]) if k in ("user_id", "company_id") and row[k] else row[k]) for k in keys}
                for row in sorted(rows, key=lambda row: row["email"].lower())]

    def find_people(self, text=None, roles=(), limit=20):
        companies = {company_id: name for (kind, company_id), name in self.rows.items() if kind == "company"}
        needle = (text or "").lower()
        found = []
        for row in self._users():
            company = companies.get(uuid.UUID(str(row["company_id"]))) if row["company_id"] else None
            if roles and row["role"] not in roles:
                continue
            if needle and not any(needle in (value or "").lower() for value in (row["name"], row["email"], company)):
                continue
            found.append({"user_id": str(row["user_id"]), "email": row["email"], "name": row["name"],
                          "role": row["role"], "company_id": str(row["company_id"]) if row["company_id"] else None,
                          "company_name": company, "departments": list(row["departments"]),
                          "active": row["active"]})
        return sorted(found, key=lambda person: (person["name"].lower(), person["email"].lower()))[:limit]


class InMemoryCredentials(InMemoryTable):
    def password_hash(self, user_id):
        return self.rows.get(str(user_id))

    def set_password_hash(self, user_id, password_hash):
        self.rows[str(user_id)] = password_hash


class InMemoryLinkTokens(InMemoryTable):
    """digest -> (user_id, purpose, email, expires_at, used)."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def store(self, token_digest, user_id, purpose, email, expires_at):
        if token_digest in self.rows:
            raise ValueError("token digest exists")
        self.rows[token_digest] = (uuid.UUID(str(user_id)), purpose, email, _aware(expires_at), False)

    def consume(self, token_digest, purpose):
        found = self.rows.get(token_digest)
        if found is None or found[1] != purpose or found[4] or found[3] <= self.clock():
            return None
        self.rows[token_digest] = found[:4] + (True,)
        return found[0], found[2]

    def void(self, user_id):
        user_id = uuid.UUID(str(user_id))
        for token_digest, found in list(self.rows.items()):
            if found[0] == user_id and not found[4]:
                self.rows[token_digest] = found[:4] + (True,)


class InMemorySessions(InMemoryTable):
    """digest -> (user_id, expires_at, revoked)."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def start(self, token_digest, user_id, expires_at, ip, user_agent):
        self.rows[token_digest] = (uuid.UUID(str(user_id)), _aware(expires_at), False)

    def user_of(self, token_digest):
        found = self.rows.get(token_digest)
        if found is None or found[2] or found[1] <= self.clock():
            return None
        return found[0]

    def revoke(self, token_digest):
        if token_digest in self.rows:
            self.rows[token_digest] = self.rows[token_digest][:2] + (True,)

    def revoke_all(self, user_id):
        user_id = uuid.UUID(str(user_id))
        for token_digest, found in list(self.rows.items()):
            if found[0] == user_id:
                self.rows[token_digest] = found[:2] + (True,)


class InMemoryCounters(InMemoryTable):
    """("throttle", key) -> times; ("login", account) -> ((client, at), …)."""

    def retry_after(self, key, limit, window, now):
        return domain.retry_after([at for at in self.rows.get(("throttle", key), ()) if at > now - window],
                                  now, limit, window)

    def count_attempt(self, key, now):
        self.rows[("throttle", key)] = self.rows.get(("throttle", key), ()) + (now,)

    def login_failures(self, account, client, since):
        mine = [(c, at) for c, at in self.rows.get(("login", account), ()) if at > since]
        of_client = [at for (kind, _), failures in self.rows.items() if kind == "login"
                     for c, at in failures if c == client and at > since]
        return [at for _, at in mine], [at for c, at in mine if c == client], of_client

    def count_login_failure(self, account, client, now):
        self.rows[("login", account)] = self.rows.get(("login", account), ()) + ((client, now),)

    def clear_login_failures(self, account, client):
        self.rows[("login", account)] = tuple(f for f in self.rows.get(("login", account), ()) if f[0] != client)

    def prune(self, older_than):
        pruned = 0
        for key, times in list(self.rows.items()):
            kept = tuple(t for t in times if (t if key[0] == "throttle" else t[1]) >= older_than)
            pruned += len(times) - len(kept)
            self.rows[key] = kept
        return pruned


def _aware(moment):
    """Expiry times arrive as datetimes or ISO strings (from events' data)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def in_memory(clock):
    return {"directory": InMemoryDirectory(), "credentials": InMemoryCredentials(),
            "links": InMemoryLinkTokens(clock), "sessions": InMemorySessions(clock), "counters": InMemoryCounters()}
