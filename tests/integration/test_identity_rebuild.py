"""Identity's projections on PostgreSQL: the users and companies its handlers write live, and the
same rows rebuilt from its log (`python -m helpdesk.projections identity`: IdentityRebuild), are
identical, a customer's services included."""
import pytest

from helpdesk import catalog, testing
from helpdesk.db import Database
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from helpdesk.projections import rebuild
from services.identity.bootstrap import bootstrap
from services.identity.repository import IdentityRebuild
from services.identity.seed import seed_into

from ..conftest import setting

SETTINGS = {"LINK_SECRET": testing.LINK_SECRET, "DEFAULT_TIME_ZONE": "Europe/Madrid"}


@pytest.fixture(scope="module")
def database():
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin, prefix="helpdesk_identity")
    migrate_all(url, ["identity"])
    db = Database(url, size=2)
    yield db
    db.close()
    testing.drop_database(admin, url)


def projections(db):
    with db.transaction() as cur:
        cur.execute("SELECT user_id, email, name, phone, language, role, company_id, is_group, company_admin,"
                    " departments, services, verified, must_change_password, registered_at, version, active"
                    " FROM identity.users ORDER BY user_id")
        users = cur.fetchall()
        cur.execute("SELECT company_id, name, registered_at FROM identity.companies ORDER BY company_id")
        return users, cur.fetchall()


def test_the_users_rebuilt_from_the_log_equal_the_live_ones(database):
    identity = bootstrap(SETTINGS, catalog.load(), utcnow, PostgresEventStore(database, "identity"), database)
    seed_into(identity, SETTINGS)
    with identity.uow() as work:
        admin = identity._user(work, work.directory.user_id_by_email("admin@helpdesk.example")).principal()
    company = identity.create_company(admin, {"name": "Hostelería Moncayo"})
    customer = identity.create_user(admin, {"email": "sala@moncayo.example", "name": "Sala", "role": "customer",
                                            "company_id": company["company_id"], "services": ["hosting"]})
    identity.update_user(admin, customer["user_id"], {"services": ["email", "domains"]})
    agent = identity.create_user(admin, {"email": "nuevo@helpdesk.example", "name": "Nuevo", "role": "agent",
                                         "departments": ["networks"]})
    identity.update_user(admin, agent["user_id"], {"departments": ["billing"], "active": False})

    live = projections(database)
    listed = {u["email"]: u["services"] for u in identity.list_users(admin, company["company_id"])}
    assert listed == {"sala@moncayo.example": ["domains", "email"]}
    read = rebuild(PostgresEventStore(database, "identity"), [IdentityRebuild()])
    assert read > 0 and projections(database) == live
    with database.transaction() as cur:  # and after the rows were dropped
        cur.execute("DELETE FROM identity.users")
    rebuild(PostgresEventStore(database, "identity"), [IdentityRebuild()])
    assert projections(database) == live
