"""Identity's tables in SQL: the projections of its events, and its private state (secrets,
throttle). Every function takes the caller's cursor, so one transaction covers the events and
these rows; repositories.py presents them to the handlers."""
from helpdesk.projections import Rebuild

from . import domain

PROJECTED_CHANGES = {  # event type -> the users columns it sets
    "EmailVerified": lambda data: {"verified": True},
    "EmailChanged": lambda data: {"email": data["new_email"], "verified": True},
    "PasswordChanged": lambda data: {"must_change_password": False},
    "ProfileUpdated": lambda data: {k: data.get(k) for k in ("name", "phone", "language")},
    "AgentDepartmentsChanged": lambda data: {"departments": data["departments"]},
    "CustomerServicesChanged": lambda data: {"services": data["services"]},
    "UserDeactivated": lambda data: {"active": False},
    "UserReactivated": lambda data: {"active": True},
}


def project(cur, event):
    """Applies one identity event to the `users` / `companies` projections."""
    data, version = event.data, event.stream_position
    if event.type == "UserRegistered":
        cur.execute(
            "INSERT INTO identity.users (user_id, email, name, phone, language, role, company_id,"
            " is_group, company_admin, departments, services, verified, must_change_password,"
            " registered_at, version) VALUES (%(user_id)s, %(email)s, %(name)s, %(phone)s, %(language)s,"
            " %(role)s, %(company_id)s, %(is_group)s, %(company_admin)s, %(departments)s, %(services)s,"
            " %(verified)s, %(must_change_password)s, %(at)s, %(version)s)",
            dict(data, services=data.get("services") or [], at=event.occurred_at, version=version),
        )
    elif event.type == "CompanyRegistered":
        cur.execute(
            "INSERT INTO identity.companies (company_id, name, registered_at) VALUES (%s, %s, %s)",
            (data["company_id"], data["name"], event.occurred_at),
        )
    elif event.type in PROJECTED_CHANGES:
        columns = PROJECTED_CHANGES[event.type](data)
        assignments = ", ".join(f"{column} = %s" for column in columns)
        cur.execute(
            f"UPDATE identity.users SET {assignments}, version = %s WHERE user_id = %s",  # noqa: S608 (fixed column names)
            (*columns.values(), version, data["user_id"]),
        )
    elif "user_id" in data:
        cur.execute("UPDATE identity.users SET version = %s WHERE user_id = %s", (version, data["user_id"]))


class IdentityRebuild(Rebuild):
    """The users and companies projections, replayed event by event."""

    name = "identity.users, identity.companies"
    categories = ("user", "company")
    tables = ("identity.users", "identity.companies")

    def apply(self, cur, event):
        project(cur, event)


def user_id_by_email(cur, email):
    cur.execute("SELECT user_id FROM identity.users WHERE lower(email) = lower(%s)", (email,))
    row = cur.fetchone()
    return row[0] if row else None


def email_taken(cur, email, except_user=None):
    cur.execute("SELECT 1 FROM identity.users WHERE lower(email) = lower(%s) AND user_id IS DISTINCT FROM %s",
                (email, except_user))
    return cur.fetchone() is not None


def company_exists(cur, company_id):
    cur.execute("SELECT 1 FROM identity.companies WHERE company_id = %s", (company_id,))
    return cur.fetchone() is not None


def company_by_name(cur, name):
    cur.execute("SELECT company_id FROM identity.companies WHERE lower(name) = lower(%s)", (name,))
    row = cur.fetchone()
    return row[0] if row else None


def company_name(cur, company_id):
    cur.execute("SELECT name FROM identity.companies WHERE company_id = %s", (company_id,))
    row = cur.fetchone()
    return row[0] if row else None


def list_companies(cur):
    cur.execute("SELECT company_id, name FROM identity.companies ORDER BY lower(name)")
    return [{"company_id": str(c), "name": n} for c, n in cur.fetchall()]


USER_LISTING = ("user_id", "email", "name", "role", "company_id", "is_group", "company_admin", "departments",
                "services", "verified", "active")  # what the admins' listing shows of each account


def list_users(cur, company_id=None):
    cur.execute(
        "SELECT user_id, email, name, role, company_id, is_group, company_admin, departments, services,"
        " verified, active"
        " FROM identity.users WHERE %(company)s::uuid IS NULL OR company_id = %(company)s::uuid"
        " ORDER BY lower(email)", {"company": company_id})
    keys = USER_LISTING
    return [{k: (str(v) if k in ("user_id", "company_id") and v else v) for k, v in zip(keys, row)}
            for row in cur.fetchall()]


PERSON_KEYS = ("user_id", "email", "name", "role", "company_id", "company_name", "departments", "active")


def find_people(cur, text=None, roles=(), limit=20):
    """Accounts whose name, email or company's name contains `text` (any, without), of `roles`
    (any, without), by name: staff looking for a customer who phoned, or for a colleague."""
    where, args = ["TRUE"], []
    if roles:
        where.append("u.role = ANY(%s)")
        args.append(list(roles))
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(u.name ILIKE %s OR u.email ILIKE %s OR c.name ILIKE %s)")
        args += [pattern] * 3
    cur.execute(
        "SELECT u.user_id, u.email, u.name, u.role, u.company_id, c.name, u.departments, u.active"
        " FROM identity.users u LEFT JOIN identity.companies c ON c.company_id = u.company_id"
        f" WHERE {' AND '.join(where)} ORDER BY lower(u.name), lower(u.email) LIMIT %s", (*args, limit))
    return [{k: (str(v) if k in ("user_id", "company_id") and v else v) for k, v in zip(PERSON_KEYS, row)}
            for row in cur.fetchall()]


# -- credentials -------------------------------------------------------------------------------

def password_hash(cur, user_id):
    cur.execute("SELECT password_hash FROM identity.credentials WHERE user_id = %s", (user_id,))
    row = cur.fetchone()
    return row[0] if row else None


def set_password_hash(cur, user_id, password_hash):
    cur.execute(
        "INSERT INTO identity.credentials (user_id, password_hash) VALUES (%s, %s)"
        " ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, changed_at = now()",
        (user_id, password_hash),
    )


# -- link tokens -------------------------------------------------------------------------------

def store_link_token(cur, token_digest, user_id, purpose, email, expires_at):
    cur.execute(
        "INSERT INTO identity.link_tokens (token_digest, user_id, purpose, email, expires_at)"
        " VALUES (%s, %s, %s, %s, %s)", (token_digest, user_id, purpose, email, expires_at))


def consume_link_token(cur, token_digest, purpose):
    """Marks the token used and returns (user_id, email), or None if unknown, used or expired.
    The row lock makes a token single-use even when presented twice at once."""
    cur.execute(
        "UPDATE identity.link_tokens SET used_at = now() WHERE token_digest = %s AND purpose = %s"
        " AND used_at IS NULL AND expires_at > now() RETURNING user_id, email",
        (token_digest, purpose))
    return cur.fetchone()


def void_link_tokens(cur, user_id):
    """Every outstanding link of the user stops working, whatever its purpose."""
    cur.execute("UPDATE identity.link_tokens SET used_at = now() WHERE user_id = %s AND used_at IS NULL",
                (user_id,))


# -- sessions ----------------------------------------------------------------------------------

def start_session(cur, token_digest, user_id, expires_at, ip, user_agent):
    cur.execute(
        "INSERT INTO identity.sessions (token_digest, user_id, expires_at, ip, user_agent)"
        " VALUES (%s, %s, %s, %s, %s)", (token_digest, user_id, expires_at, ip, (user_agent or "")[:300]))


def session_user(cur, token_digest):
    cur.execute("SELECT user_id FROM identity.sessions WHERE token_digest = %s AND revoked_at IS NULL"
                " AND expires_at > now()", (token_digest,))
    row = cur.fetchone()
    return row[0] if row else None


def revoke_session(cur, token_digest):
    cur.execute("UPDATE identity.sessions SET revoked_at = now() WHERE token_digest = %s"
                " AND revoked_at IS NULL", (token_digest,))


def revoke_sessions(cur, user_id, except_digest=None):
    cur.execute("UPDATE identity.sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL"
                " AND token_digest IS DISTINCT FROM %s", (user_id, except_digest))


# -- throttle ----------------------------------------------------------------------------------

def retry_after(cur, key, limit, window, now):
    cur.execute("SELECT at FROM identity.throttle WHERE key = %s AND at > %s", (key, now - window))
    return domain.retry_after([row[0] for row in cur.fetchall()], now, limit, window)


def count_attempt(cur, key, now):
    cur.execute("INSERT INTO identity.throttle (key, at) VALUES (%s, %s)", (key, now))


def prune_counters(cur, older_than):
    """Forgets throttle counts and failed logins from before `older_than`; how many went."""
    cur.execute("DELETE FROM identity.throttle WHERE at < %s", (older_than,))
    pruned = cur.rowcount
    cur.execute("DELETE FROM identity.login_failures WHERE at < %s", (older_than,))
    return pruned + cur.rowcount


# -- failed logins -----------------------------------------------------------------------------

def login_failures(cur, account, client, since):
    """The times of failed logins since `since`: (of the account from every client, of the account
    from this client, of this client on any account)."""
    cur.execute("SELECT at, client = %s FROM identity.login_failures WHERE account = %s AND at > %s",
                (client, account, since))
    account_rows = cur.fetchall()
    cur.execute("SELECT at FROM identity.login_failures WHERE client = %s AND at > %s", (client, since))
    return ([at for at, _ in account_rows], [at for at, own in account_rows if own],
            [row[0] for row in cur.fetchall()])


def lock_login_account(cur, account):
    """Attempts on one account are counted one after the other (until the caller's commit)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"identity.login {account}",))


def count_login_failure(cur, account, client, now):
    cur.execute("INSERT INTO identity.login_failures (account, client, at) VALUES (%s, %s, %s)",
                (account, client, now))


def clear_login_failures(cur, account, client):
    """A successful login forgets that client's failures on the account, and only those."""
    cur.execute("DELETE FROM identity.login_failures WHERE account = %s AND client = %s", (account, client))
