"""Demo data for `make run`: a demo company with a customer and a group user, one agent per
department, a supervisor and an admin. Idempotent: does nothing when the admin exists.

    python -m services.identity.seed        # prints the accounts and their password
"""
import uuid

from helpdesk import catalog, config, timezones
from helpdesk.db import Database
from helpdesk.events import stream_name, utcnow
from helpdesk.eventstore import NO_STREAM, PostgresEventStore

from . import domain, passwords
from .bootstrap import bootstrap

DEMO_PASSWORD = "helpdesk-demo-2026"
ADMIN_EMAIL = "admin@helpdesk.example"
SYSTEM = "seed"


def accounts(departments, company_id):
    yield {"email": ADMIN_EMAIL, "name": "Administración", "role": domain.ADMIN}
    yield {"email": "supervisor@helpdesk.example", "name": "Supervisión", "role": domain.SUPERVISOR}
    for code in departments:
        yield {"email": f"agent-{code.replace('_', '-')}@helpdesk.example", "name": f"Agente {code}",
               "role": domain.AGENT, "departments": [code]}
    yield {"email": "cliente@demo.example", "name": "Ana Cliente", "role": domain.CUSTOMER,
           "company_id": company_id}
    yield {"email": "soporte@demo.example", "name": "Soporte Demo (grupo)", "role": domain.CUSTOMER,
           "company_id": company_id, "is_group": True}


def seed(database_url, settings):
    """Creates the demo data in the database; returns the accounts created (empty when already seeded)."""
    db = Database(database_url, size=1)
    try:
        return seed_into(bootstrap(settings, catalog.load(settings), utcnow, PostgresEventStore(db, "identity"), db),
                         settings)
    finally:
        db.close()


def seed_into(identity, settings):
    """Creates the demo data through `identity` (the handlers, on any store) in one transaction."""
    created = []
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    with identity.uow() as work:
        if work.directory.user_id_by_email(ADMIN_EMAIL):
            return []
        company_id = str(uuid.uuid4())
        identity.record(work, stream_name("company", company_id),
                        domain.register_company(company_id, "Demo S.L.", SYSTEM), NO_STREAM)
        for account in accounts(catalog.load(settings).departments, company_id):
            user_id = uuid.uuid4()
            command = dict({"language": "es", "time_zone": timezones.default_from(settings),
                            "is_group": False, "company_admin": False, "departments": []}, **account)
            identity.record(work, stream_name("user", user_id), domain.enrol(user_id, command, SYSTEM), NO_STREAM)
            work.credentials.set_password_hash(user_id, password_hash)
            created.append(account)
    return created


def main():
    settings = config.load()
    created = seed(settings["DATABASE_URL"], settings)
    if not created:
        print("seed: demo data already present")
        return
    print(f"seed: demo accounts (password {DEMO_PASSWORD!r}):")
    for account in created:
        print(f"  {account['role']:<10} {account['email']}")


if __name__ == "__main__":
    main()
