"""The units of work and the repositories of each service, run against both backends (PostgreSQL
and in memory): the in-process system (services/system.py) is only as true as this contract."""
import dataclasses
import datetime as dt
import uuid

import pytest

from helpdesk import catalog, testing
from helpdesk.application import InMemoryUnitOfWork, PostgresUnitOfWork
from helpdesk.db import Database
from helpdesk.events import stream_name, utcnow
from helpdesk.eventstore import NO_STREAM, InMemoryEventStore, PostgresEventStore
from helpdesk.migrate import migrate_all
from services.content import domain as content
from services.content import repositories as content_repositories
from services.identity import repositories as identity_repositories
from services.notifier import repositories as notifier_repositories
from services.routing import repositories as routing_repositories
from services.sla import repositories as sla_repositories
from services.tickets import attachments, domain, limits, queries
from services.tickets import repositories as tickets_repositories

from ..conftest import setting

CATALOG = catalog.load()
REPOSITORIES = {
    "tickets": (tickets_repositories.POSTGRES, lambda: tickets_repositories.in_memory(utcnow)),
    "identity": (identity_repositories.POSTGRES, lambda: identity_repositories.in_memory(utcnow)),
    "routing": (routing_repositories.POSTGRES, routing_repositories.in_memory),
    "sla": (sla_repositories.POSTGRES, sla_repositories.in_memory),
    "notifier": (notifier_repositories.POSTGRES, notifier_repositories.in_memory),
    "content": (content_repositories.POSTGRES, content_repositories.in_memory),
}


@pytest.fixture(scope="module")
def database():
    """A database of its own: the rows these tests write must not reach a running system's lists."""
    admin = setting("DATABASE_URL")
    url = testing.create_database(admin, prefix="helpdesk_contract")
    migrate_all(url, ["tickets", "identity", "routing", "sla", "notifier", "content"])
    db = Database(url, size=2)
    yield db
    db.close()
    testing.drop_database(admin, url)


@pytest.fixture(params=["postgres", "memory"])
def units(request):
    """units(service) -> a fresh unit of work of that service on this backend."""
    def make(service):
        postgres, in_memory = REPOSITORIES[service]
        if request.param == "memory":
            return InMemoryUnitOfWork(InMemoryEventStore(service), in_memory())
        db = request.getfixturevalue("database")
        store = PostgresEventStore(db, service) if service in ("tickets", "identity", "sla", "content") else None
        return PostgresUnitOfWork(db, store, postgres)
    return make


def customer(**extra):
    return dict({"user_id": str(uuid.uuid4()), "email": f"c-{uuid.uuid4().hex[:8]}@example.com", "name": "Cliente",
                 "role": "customer", "company_id": None, "is_group": False, "company_admin": False,
                 "departments": [], "language": "es"}, **extra)


def opened(work, requester, title="Sin conexión", department="networks", cc=(), reference=None):
    """A ticket opened in `work`, saved in the summaries as the handlers save it."""
    ticket_id = uuid.uuid4()
    command = {"ticket_id": ticket_id, "department": department, "title": title,
               "description": "Desde las 9:00 no hay tráfico.", "cc": list(cc)}
    events = domain.open_ticket(command, requester, CATALOG, reference=reference or f"#{work.numbers.next():06d}")
    recorded = work.events.append(stream_name("ticket", ticket_id), events, NO_STREAM)
    ticket = domain.fold(recorded)
    work.summaries.save(ticket, recorded[0].global_position)
    return ticket


# -- the unit of work ---------------------------------------------------------------------------

def test_an_error_undoes_the_events_and_the_rows_of_its_transaction(units):
    uow = units("tickets")
    requester = customer()
    with pytest.raises(RuntimeError):
        with uow() as work:
            ticket = opened(work, requester)
            work.rates.add([("opens:x", "a", utcnow())])
            raise RuntimeError("after the writes")
    with uow() as work:
        assert work.events.read_stream(stream_name("ticket", ticket.ticket_id)) == []
        assert work.summaries.arrival_of(ticket.ticket_id) is None
        assert work.summaries.list_tickets(requester)["items"] == []
        assert work.rates.counted({"opens:x": (utcnow() - dt.timedelta(hours=1), ["a"], 5)})["opens:x"].total == 0


def test_what_a_transaction_committed_is_seen_by_the_next(units):
    uow = units("tickets")
    requester = customer()
    with uow() as work:
        ticket = opened(work, requester)
    with uow() as work:
        assert [e.type for e in work.events.read_stream(stream_name("ticket", ticket.ticket_id))] == ["TicketOpened"]
        assert [i["ticket_id"] for i in work.summaries.list_tickets(requester)["items"]] == [str(ticket.ticket_id)]


def test_what_waits_for_the_commit_runs_after_it_and_never_for_a_rolled_back_transaction(units):
    uow, ran = units("tickets"), []
    with pytest.raises(RuntimeError):
        with uow() as work:
            work.after_commit(lambda: ran.append("rolled back"))
            opened(work, customer())
            raise RuntimeError("after the writes")
    with uow() as work:
        opened(work, customer())
        work.after_commit(lambda: ran.append("committed"))
        assert ran == []  # not before the commit
    assert ran == ["committed"]


# -- tickets ------------------------------------------------------------------------------------

def test_a_saved_summary_keeps_its_first_arrival(units):
    uow = units("tickets")
    with uow() as work:
        ticket = opened(work, customer())
        first = work.summaries.arrival_of(ticket.ticket_id)
        work.summaries.save(ticket, first + 1000)
        assert work.summaries.arrival_of(ticket.ticket_id) == first


def test_lists_show_each_principal_the_tickets_it_may_see_newest_first(units):
    uow = units("tickets")
    company = str(uuid.uuid4())
    ana, colleague = customer(company_id=company), customer(company_id=company)
    group = customer(company_id=company, is_group=True)
    copied = customer()
    with uow() as work:
        first = opened(work, ana, "Primero")
        opened(work, ana, "Segundo", department="sales", cc=[copied["email"].upper()])
        opened(work, colleague, "De un compañero")

    def seen(principal, **filters):
        with uow() as work:
            return [i["title"] for i in work.summaries.list_tickets(principal, **filters)["items"]]

    assert seen(ana) == ["Segundo", "Primero"]
    assert seen(colleague) == ["De un compañero"]
    assert seen(group) == ["De un compañero", "Segundo", "Primero"]
    assert seen(group, scope="mine") == []
    assert seen(copied) == ["Segundo"]
    agent = {"user_id": str(uuid.uuid4()), "email": "a@helpdesk.example", "role": "agent", "departments": ["sales"]}
    assert "Segundo" in seen(agent) and "Primero" not in seen(agent)
    assert seen(ana, department="networks") == ["Primero"]
    assert seen(ana, status="open") == ["Segundo", "Primero"] and seen(ana, status="closed") == []
    assert seen(ana, text="segun") == ["Segundo"]
    assert seen(ana, text=first.reference.lstrip("#")) == ["Primero"]
    assert seen(ana, text="50%_") == []


def test_lists_and_queues_page_with_cursors_that_stay_stable(units):
    uow = units("tickets")
    ana = customer()
    with uow() as work:
        titles = [opened(work, ana, f"T{n}", department="billing").title for n in range(5)]
    with uow() as work:
        page = work.summaries.list_tickets(ana, limit=2)
        rest = work.summaries.list_tickets(ana, limit=2, cursor=page["next_cursor"])
        last = work.summaries.list_tickets(ana, limit=2, cursor=rest["next_cursor"])
        assert [i["title"] for i in page["items"] + rest["items"] + last["items"]] == titles[::-1]
        assert last["next_cursor"] is None
        queue = work.summaries.queue("billing", limit=100)["items"]
        mine = [i["title"] for i in queue if i["title"] in titles]
        assert mine == titles  # oldest first
        assert all(set(i) == set(queries.SUMMARY_COLUMNS) for i in queue)
        assert work.summaries.queue("billing", statuses=["closed"])["items"] == []
        with pytest.raises(queries.BadCursor):
            work.summaries.list_tickets(ana, cursor="!!not-ours")


def test_attachments_are_found_only_on_their_ticket(units):
    uow = units("tickets")
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    meta = attachments.inspect("captura.pdf", content)
    ticket_id, other = uuid.uuid4(), uuid.uuid4()
    with uow() as work:
        work.attachments.save(ticket_id, meta, content, internal=True)
        with pytest.raises(ValueError):
            work.attachments.save(ticket_id, meta, content + b"x")
    with uow() as work:
        found, internal, stored = work.attachments.load(ticket_id, meta.attachment_id)
        assert (found.filename, found.content_type, found.size, found.sha256) == (
            meta.filename, meta.content_type, meta.size, meta.sha256)
        assert internal is True and stored == content
        assert work.attachments.load(other, meta.attachment_id) is None
        assert work.attachments.load(ticket_id, "not-a-uuid") is None


def test_remembered_answers_are_recalled_and_replaced(units):
    uow = units("tickets")
    user = str(uuid.uuid4())
    with uow() as work:
        assert work.answers.recall(user, "k1") is None
        work.answers.remember(user, "k1", "f1", {"ticket_id": "t", "n": 1})
    with uow() as work:
        assert tuple(work.answers.recall(user, "k1")) == ("f1", {"ticket_id": "t", "n": 1})
        work.answers.remember(user, "k1", "f2", {"n": 2})
        assert tuple(work.answers.recall(user, "k1")) == ("f2", {"n": 2})
        assert work.answers.recall(str(uuid.uuid4()), "k1") is None
        assert work.answers.forget_expired() == 0


def test_rate_usage_is_summed_up_within_the_window_and_counts_an_item_once(units):
    uow = units("tickets")
    now, key, other = utcnow(), f"opens:{uuid.uuid4()}", f"opens:{uuid.uuid4()}"
    hour = dt.timedelta(hours=1)
    with uow() as work:
        work.rates.add([(key, "old", now - 2 * hour), (key, "a", now - dt.timedelta(minutes=5)), (key, "b", now),
                        (key, "c", now - dt.timedelta(minutes=9)), (other, "a", now)])
        work.rates.add([(key, "a", now - dt.timedelta(minutes=5))])
        work.rates.add([])
    with uow() as work:
        counted = work.rates.counted({key: (now - hour, ["a", "new"], 2), other: (now - hour, ["x"], 5)})
        assert counted[key] == limits.Counted(3, frozenset({"a"}), (now - dt.timedelta(minutes=9),
                                                                    now - dt.timedelta(minutes=5),
                                                                    now))  # 2 items + 1 over the maximum
        assert counted[other] == limits.Counted(1, frozenset(), (now,))
        assert work.rates.counted({key: (now - 3 * hour, ["b"], 10)})[key].total == 3  # "old" was forgotten
        fresh = f"opens:{uuid.uuid4()}"
        assert work.rates.counted({fresh: (now, ["x"], 1)}) == {fresh: limits.Counted(0, frozenset(), ())}


def test_ticket_numbers_only_grow(units):
    uow = units("tickets")
    with uow() as work:
        first = work.numbers.next()
        assert work.numbers.next() > first


# -- identity -----------------------------------------------------------------------------------

def registered(work, email, company_id=None, role="customer"):
    from services.identity import domain as identity

    user_id = uuid.uuid4()
    command = {"email": email, "name": "Nombre", "role": role, "company_id": company_id, "language": "es",
               "time_zone": "Europe/Madrid", "is_group": False, "company_admin": False,
               "departments": ["networks"] if role == "agent" else []}
    for event in work.events.append(stream_name("user", user_id), identity.enrol(user_id, command, "test"), NO_STREAM):
        work.directory.project(event)
    return user_id


def test_the_directory_answers_by_address_whatever_its_case(units):
    uow = units("identity")
    email = f"Ana-{uuid.uuid4().hex[:6]}@Example.com"
    with uow() as work:
        user_id = registered(work, email, role="agent")
    with uow() as work:
        assert work.directory.user_id_by_email(email.lower()) == user_id
        assert work.directory.email_taken(email.upper())
        assert not work.directory.email_taken(email, except_user=user_id)
        assert work.directory.user_id_by_email("nobody@example.com") is None


def test_users_follow_their_events_and_list_by_company(units):
    from services.identity import domain as identity

    uow = units("identity")
    company_id = uuid.uuid4()
    tag = uuid.uuid4().hex[:6]
    with uow() as work:
        for event in work.events.append(stream_name("company", company_id),
                                        identity.register_company(company_id, f"Empresa {tag}", "test"), NO_STREAM):
            work.directory.project(event)
        user_id = registered(work, f"b-{tag}@example.com", company_id=str(company_id))
        registered(work, f"a-{tag}@example.com", company_id=str(company_id))
        user = identity.fold(work.events.read_stream(stream_name("user", user_id)))
        for event in work.events.append(stream_name("user", user_id),
                                        identity.set_active(user, False, "test"), user.version):
            work.directory.project(event)
    with uow() as work:
        assert work.directory.company_by_name(f"EMPRESA {tag}") == company_id
        assert work.directory.company_exists(str(company_id)) and not work.directory.company_exists(str(uuid.uuid4()))
        assert {"company_id": str(company_id), "name": f"Empresa {tag}"} in work.directory.list_companies()
        assert work.directory.company_name(str(company_id)) == f"Empresa {tag}"
        assert work.directory.company_name(str(uuid.uuid4())) is None
        users = work.directory.list_users(str(company_id))
        assert [u["email"] for u in users] == [f"a-{tag}@example.com", f"b-{tag}@example.com"]
        assert [u["active"] for u in users] == [True, False]
        assert users[1]["user_id"] == str(user_id) and users[1]["company_id"] == str(company_id)


def test_people_are_found_by_part_of_name_email_or_company_and_by_kind(units):
    from services.identity import domain as identity

    uow = units("identity")
    company_id, tag = uuid.uuid4(), uuid.uuid4().hex[:6]
    with uow() as work:
        for event in work.events.append(stream_name("company", company_id),
                                        identity.register_company(company_id, f"Fibras {tag} SL", "test"), NO_STREAM):
            work.directory.project(event)
        customer_id = registered(work, f"pepa-{tag}@example.com", company_id=str(company_id))
        agent_id = registered(work, f"agente-{tag}@helpdesk.example", role="agent")
    with uow() as work:
        by_company = work.directory.find_people(f"fibras {tag}".upper())
        assert [p["user_id"] for p in by_company] == [str(customer_id)]
        assert by_company[0] == {"user_id": str(customer_id), "email": f"pepa-{tag}@example.com", "name": "Nombre",
                                 "role": "customer", "company_id": str(company_id),
                                 "company_name": f"Fibras {tag} SL", "departments": [], "active": True}
        assert {p["user_id"] for p in work.directory.find_people(tag)} == {str(customer_id), str(agent_id)}
        assert [p["user_id"] for p in work.directory.find_people(tag, roles=("agent",))] == [str(agent_id)]
        assert work.directory.find_people(f"{tag}%_") == []  # wildcards are literal
        assert len(work.directory.find_people(tag, limit=1)) == 1


def test_a_customers_services_are_listed_as_registered_and_as_changed(units):
    from helpdesk.events import NewEvent
    from services.identity import domain as identity

    uow = units("identity")
    company_id, tag = str(uuid.uuid4()), uuid.uuid4().hex[:6]
    with uow() as work:
        for event in work.events.append(stream_name("company", company_id),
                                        identity.register_company(company_id, f"Servicios {tag}", "test"), NO_STREAM):
            work.directory.project(event)
        user_id = uuid.uuid4()
        command = {"email": f"s-{tag}@example.com", "name": "Con servicios", "role": "customer",
                   "company_id": company_id, "services": ["hosting", "email"]}
        for event in work.events.append(stream_name("user", user_id), identity.enrol(user_id, command, "test"),
                                        NO_STREAM):
            work.directory.project(event)
        old_id = uuid.uuid4()  # registered before customers had services: its event names none
        old = {"user_id": str(old_id), "email": f"old-{tag}@example.com", "name": "Antiguo", "phone": None,
               "language": "es", "role": "customer", "company_id": company_id, "is_group": False,
               "company_admin": False, "departments": [], "verified": True, "must_change_password": False}
        for event in work.events.append(stream_name("user", old_id), [NewEvent("UserRegistered", old)], NO_STREAM):
            work.directory.project(event)
    with uow() as work:
        assert {u["email"]: u["services"] for u in work.directory.list_users(company_id)} == {
            f"old-{tag}@example.com": [], f"s-{tag}@example.com": ["email", "hosting"]}
        user = identity.fold(work.events.read_stream(stream_name("user", user_id)))
        for event in work.events.append(stream_name("user", user_id),
                                        identity.change_services(user, ["domains"], "test"), user.version):
            work.directory.project(event)
    with uow() as work:
        (changed,) = [u for u in work.directory.list_users(company_id) if u["user_id"] == str(user_id)]
        assert changed["services"] == ["domains"] and changed["email"] == f"s-{tag}@example.com"


def test_credentials_are_kept_and_replaced(units):
    uow = units("identity")
    user_id = uuid.uuid4()
    with uow() as work:
        assert work.credentials.password_hash(user_id) is None
        work.credentials.set_password_hash(user_id, "first")
        work.credentials.set_password_hash(user_id, "second")
        assert work.credentials.password_hash(user_id) == "second"


def test_link_tokens_are_single_use_for_their_purpose_and_expire(units):
    uow = units("identity")
    user_id, later = uuid.uuid4(), utcnow() + dt.timedelta(hours=1)
    with uow() as work:
        work.links.store("live", user_id, "verify_email", "a@example.com", later)
        work.links.store("old", user_id, "verify_email", "a@example.com", utcnow() - dt.timedelta(seconds=1))
        work.links.store("other", user_id, "reset_password", "a@example.com", later)
    with uow() as work:
        assert work.links.consume("live", "reset_password") is None
        assert tuple(work.links.consume("live", "verify_email")) == (user_id, "a@example.com")
        assert work.links.consume("live", "verify_email") is None
        assert work.links.consume("old", "verify_email") is None
        work.links.void(user_id)
        assert work.links.consume("other", "reset_password") is None


def test_sessions_end_when_revoked_or_expired(units):
    uow = units("identity")
    user_id, later = uuid.uuid4(), utcnow() + dt.timedelta(hours=1)
    with uow() as work:
        for digest in ("s1", "s2", "s3"):
            work.sessions.start(digest, user_id, later, "10.0.0.1", "agent")
        work.sessions.start("gone", user_id, utcnow() - dt.timedelta(seconds=1), "10.0.0.1", "agent")
    with uow() as work:
        assert work.sessions.user_of("s1") == user_id
        assert work.sessions.user_of("gone") is None
        work.sessions.revoke("s1")
        assert work.sessions.user_of("s1") is None and work.sessions.user_of("s2") == user_id
        work.sessions.revoke_all(user_id)
        assert work.sessions.user_of("s3") is None


def test_counters_throttle_within_their_window_and_are_pruned(units):
    uow = units("identity")
    now, key, account = utcnow(), f"k-{uuid.uuid4()}", f"acct-{uuid.uuid4()}"
    with uow() as work:
        for _ in range(3):
            work.counters.count_attempt(key, now)
        assert work.counters.retry_after(key, 3, dt.timedelta(hours=1), now) is not None
        assert work.counters.retry_after(key, 4, dt.timedelta(hours=1), now) is None
        work.counters.count_login_failure(account, "10.1.1.1", now)
        work.counters.count_login_failure(account, "10.1.1.2", now)
        of_account, of_account_here, of_client = work.counters.login_failures(account, "10.1.1.1", now - dt.timedelta(minutes=5))
        assert (len(of_account), len(of_account_here), len(of_client)) == (2, 1, 1)
        work.counters.clear_login_failures(account, "10.1.1.1")
        assert [len(x) for x in work.counters.login_failures(account, "10.1.1.1", now - dt.timedelta(minutes=5))] == [1, 0, 0]
        assert work.counters.prune(now + dt.timedelta(seconds=1)) >= 4
        assert work.counters.retry_after(key, 3, dt.timedelta(hours=1), now) is None


# -- routing ------------------------------------------------------------------------------------

class Event:
    def __init__(self, type, **data):
        self.type, self.data = type, data


def test_routing_knows_who_waits_and_who_works_what(units):
    uow = units("routing")
    agent, other = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = uuid.uuid4(), uuid.uuid4()
    with uow() as work:
        work.tickets.project_agent(Event("UserRegistered", user_id=agent, email="a@x.es", name="A", role="agent",
                                         departments=["networks"]))
        work.tickets.project_agent(Event("UserRegistered", user_id=other, email="b@x.es", name="B", role="agent",
                                         departments=["networks"]))
        work.tickets.project_agent(Event("UserDeactivated", user_id=other))
        work.tickets.project_agent(Event("UserRegistered", user_id=str(uuid.uuid4()), email="c@x.es", name="C",
                                         role="customer", departments=[]))
        work.tickets.project_agent(Event("CustomerServicesChanged", user_id=agent, services=["email"]))  # passed over
        work.tickets.add_ticket(second, {"department": "networks", "urgency": "high"}, 20)
        work.tickets.add_ticket(first, {"department": "networks"}, 10)
        work.tickets.add_ticket(first, {"department": "sales"}, 30)  # a redelivery changes nothing
    with uow() as work:
        assert [str(a) for a, _ in work.tickets.agents_of("networks")] == [agent]
        waiting = [(str(t), d) for t, d in work.tickets.waiting(limit=100) if t in (first, second)]
        assert waiting == [(str(first), "networks"), (str(second), "networks")]
        assert work.tickets.needs_agent(first)
        work.tickets.set_assignee(first, agent)
        work.tickets.remember_assignment("networks", agent)
        assert not work.tickets.needs_agent(first) and work.tickets.assignee(first) == agent
        assert work.tickets.open_counts().get(agent) == 1
        assert work.tickets.last_assigned("networks") == agent
        work.tickets.set_open(first, False)
        assert work.tickets.open_counts().get(agent) is None
        work.tickets.requeue(second, "sales")
        assert [d for t, d in work.tickets.waiting(limit=100) if t == second] == ["sales"]


def test_outgoing_commands_leave_in_order_once_done(units):
    uow = units("routing")
    commands = [uuid.uuid4() for _ in range(3)]
    ticket = uuid.uuid4()
    with uow() as work:
        for n, command_id in enumerate(commands):
            work.outgoing.add(command_id, ticket, "assign", {"agent_id": f"a{n}"}, {"event_id": "e", "correlation_id": "c"})
        work.outgoing.add(commands[0], ticket, "assign", {"agent_id": "again"}, None)  # the same command: kept once
    with uow() as work:
        pending = [p for p in work.outgoing.pending(100) if p[0] in map(str, commands)]
        assert [(p[0], p[1], p[2], p[3]) for p in pending] == [
            (str(c), str(ticket), "assign", {"agent_id": f"a{n}"}) for n, c in enumerate(commands)]
        assert pending[0][4] == {"event_id": "e", "correlation_id": "c"}
        work.outgoing.done(commands[0])
        assert [p[0] for p in work.outgoing.pending(100) if p[0] in map(str, commands)] == list(map(str, commands[1:]))


# -- sla ----------------------------------------------------------------------------------------

def test_clocks_are_found_by_ticket_and_by_when_they_alert(units):
    from helpdesk import config
    from services.sla import clocks, usage
    from services.sla.handlers import SlaSettings

    uow = units("sla")
    settings = SlaSettings(config.load())
    requester = customer()
    tickets = InMemoryUnitOfWork(InMemoryEventStore("tickets"), tickets_repositories.in_memory(utcnow))
    with tickets() as work:
        ticket = opened(work, requester, department="support_24h")
        (opening,) = work.events.read_stream(stream_name("ticket", ticket.ticket_id))
    clock = clocks.apply(None, opening, settings.calendar_of, settings.targets)
    calendar, fraction = settings.calendar_of(clock.department), settings.targets.warning_fraction
    with uow() as work:
        work.clocks.save(clock, calendar, fraction)
        episode, _ = usage.apply(None, opening, settings.calendar_of(usage.SUPPORT_24H))
        work.episodes.save(episode)
    with uow() as work:
        assert work.clocks.load(ticket.ticket_id) == clock
        assert work.episodes.load(ticket.ticket_id) == episode
        next_alert = clocks.next_alert_at(clock, calendar, fraction)
        assert str(ticket.ticket_id) not in map(str, work.clocks.alerting(next_alert - dt.timedelta(seconds=1)))
        assert str(ticket.ticket_id) in map(str, work.clocks.alerting(next_alert))
        [(ticket_id, loaded, response_due, resolution_due)] = work.clocks.due_times([str(ticket.ticket_id)])
        assert (str(ticket_id), loaded) == (str(ticket.ticket_id), clock)
        assert response_due == clocks.due_at(clock.timers[clocks.RESPONSE], calendar)
        assert resolution_due == clocks.due_at(clock.timers[clocks.RESOLUTION], calendar)
        assert work.clocks.due_times([str(uuid.uuid4())]) == []


def test_the_dashboard_adds_up_figures_per_day_and_department_and_answers_a_range_of_days(units):
    from decimal import Decimal

    from services.sla.dashboard import UNPLACED, Figures

    uow = units("sla")
    # days of their own: the PostgreSQL backend's database is shared by this module's tests
    first = dt.date(1990, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 3000)
    second, third = first + dt.timedelta(days=1), first + dt.timedelta(days=2)
    with uow() as work:
        work.dashboard.hold()
        work.dashboard.add({(first, "networks"): Figures(opened=1, first_responses=1,
                                                         first_response_seconds=Decimal("7200.125")),
                            (second, "support_24h"): Figures(usage_billable=1, usage_billable_minutes=Decimal("90.5"))})
        work.dashboard.add({(first, "networks"): Figures(opened=1, first_response_seconds=Decimal("0.001"))})
        work.dashboard.add({})
    with pytest.raises(RuntimeError):
        with uow() as work:
            work.dashboard.add({(first, "networks"): Figures(opened=5)})
            raise RuntimeError("after the write")
    with uow() as work:
        work.dashboard.add({(second, "support_24h"): Figures(usage_billable=-1, usage_billable_minutes=Decimal("-90.5"),
                                                             usage_not_billable=1,
                                                             usage_not_billable_minutes=Decimal("90.5")),
                            (second, UNPLACED): Figures(response_breaches=1),
                            (third, "sales"): Figures(opened=1) - Figures(opened=1)})
    with uow() as work:
        assert work.dashboard.between(first, third) == [
            (first, "networks", Figures(opened=2, first_responses=1, first_response_seconds=Decimal("7200.126"))),
            (second, UNPLACED, Figures(response_breaches=1)),
            (second, "support_24h", Figures(usage_not_billable=1, usage_not_billable_minutes=Decimal("90.5"))),
            (third, "sales", Figures()),  # a row for every key added to, even when it adds up to nothing
        ]
        assert [row[:2] for row in work.dashboard.between(second, second)] == [(second, UNPLACED),
                                                                                (second, "support_24h")]
        assert work.dashboard.between(third + dt.timedelta(days=1), third + dt.timedelta(days=5)) == []


# -- notifier -----------------------------------------------------------------------------------

def test_the_notifiers_directory_follows_people_and_tickets(units):
    uow = units("notifier")
    tag, company = uuid.uuid4().hex[:6], str(uuid.uuid4())
    agent, group, supervisor = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    ticket_id = str(uuid.uuid4())

    def person(user_id, email, role, **extra):
        return Event("UserRegistered", **dict({
            "user_id": user_id, "email": email, "name": "N", "language": "es", "company_id": None,
            "is_group": False, "role": role, "departments": [], "time_zone": "Europe/Madrid"}, **extra))
    with uow() as work:
        work.directory.project(person(agent, f"Agent-{tag}@x.es", "agent", departments=[f"d{tag}"]))
        work.directory.project(person(group, f"group-{tag}@x.es", "customer", company_id=company, is_group=True))
        work.directory.project(person(supervisor, f"sup-{tag}@x.es", "supervisor"))
        work.directory.project(Event("ProfileUpdated", user_id=agent, name="Agente", language="en", time_zone=None))
        work.directory.project(Event("UserDeactivated", user_id=supervisor))
        work.directory.project_ticket(Event("TicketOpened", ticket_id=ticket_id, reference="#000042", title="T",
                                            requester_id=group, requester_email=f"group-{tag}@x.es",
                                            company_id=company, cc=["a@x.es"], department=f"d{tag}"))
        work.directory.project_ticket(Event("TicketAssigned", ticket_id=ticket_id, agent_id=agent))
        work.directory.project_ticket(Event("CcChanged", ticket_id=ticket_id, cc=["b@x.es"]))
        work.directory.opt_out(ticket_id, "b@x.es")
        work.directory.opt_out(ticket_id, "b@x.es")
        work.directory.project(Event("CustomerServicesChanged", user_id=group, services=["email"]))  # not its concern
        work.directory.project(Event("CustomerServicesChanged", user_id=str(uuid.uuid4()), services=[]))
    with uow() as work:
        found = work.directory.contact(agent)
        assert (found["name"], found["language"], found["time_zone"], found["active"]) == (
            "Agente", "en", "Europe/Madrid", True)
        assert work.directory.contact_by_email(f"agent-{tag}@X.ES")["user_id"] == uuid.UUID(agent)
        assert [c["user_id"] for c in work.directory.agents_of(f"d{tag}")] == [uuid.UUID(agent)]
        assert [c["user_id"] for c in work.directory.group_users(company)] == [uuid.UUID(group)]
        assert work.directory.group_users(company)[0]["company_id"] == uuid.UUID(company)
        assert work.directory.contact(group)["email"] == f"group-{tag}@x.es"
        assert uuid.UUID(supervisor) not in [c["user_id"] for c in work.directory.supervisors()]
        assert work.directory.contact(supervisor)["active"] is False
        assert work.directory.contact("system:routing") is None
        ticket = work.directory.ticket(ticket_id)
        assert (ticket["reference"], ticket["assignee_id"], list(ticket["cc"]), ticket["department"]) == (
            "#000042", agent, ["b@x.es"], f"d{tag}")
        assert work.directory.opted_out(ticket_id) == {"b@x.es"}


def test_loads_count_open_tickets_per_assignee_and_the_unassigned_per_department(units):
    uow = units("tickets")
    ana, agent = customer(), str(uuid.uuid4())
    with uow() as work:
        before = work.summaries.loads()
        tickets = [opened(work, ana, department=d) for d in ("billing", "billing", "sales", "sales")]
        for ticket, status in ((tickets[0], "assigned"), (tickets[2], "in_progress"), (tickets[3], "closed")):
            changed = dataclasses.replace(ticket, assignee_id=agent, status=status)
            work.summaries.save(changed, work.summaries.arrival_of(ticket.ticket_id))
    with uow() as work:
        after = work.summaries.loads()
    assert after["agents"][agent] == 2  # the closed one is not a load
    assert after["unassigned"].get("billing", 0) == before["unassigned"].get("billing", 0) + 1
    assert after["unassigned"].get("sales", 0) == before["unassigned"].get("sales", 0)


def test_a_queue_filters_by_status_urgency_assignee_and_text_in_arrival_order(units):
    uow = units("tickets")
    ana, agent = customer(), str(uuid.uuid4())
    with uow() as work:
        tickets = [opened(work, ana, title, department="datacenters") for title in ("Fibra caída", "Router", "Fibra lenta")]
        taken = dataclasses.replace(tickets[1], assignee_id=agent, status="assigned", urgency="high")
        work.summaries.save(taken, work.summaries.arrival_of(taken.ticket_id))

    def titles(**filters):
        with uow() as work:
            return [i["title"] for i in work.summaries.queue("datacenters", limit=100, **filters)["items"]]

    assert titles() == ["Fibra caída", "Router", "Fibra lenta"]
    assert titles(assignee=agent) == ["Router"]
    assert titles(assignee=queries.NOBODY) == ["Fibra caída", "Fibra lenta"]
    assert titles(status="assigned") == ["Router"] and titles(status="new") == ["Fibra caída", "Fibra lenta"]
    assert titles(urgency="high") == ["Router"]
    assert titles(text="fibra") == ["Fibra caída", "Fibra lenta"]
    assert titles(text="fibra", urgency="high") == []
    assert titles(text=tickets[1].reference) == ["Router"]


def test_content_documents_keep_their_state_and_list_pinned_first_then_the_newest(units):
    """The folded state comes back as it was saved (JSON), and the lists sort as the status page
    and the home page expect, the unpublished (no date yet) first."""
    uow = units("content")
    staff = {"user_id": "u-staff", "name": "Agente", "role": "agent"}
    now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc)
    made = []
    with uow() as work:
        for hours, pinned, publish in ((1, False, True), (2, True, True), (3, False, True), (4, False, False)):
            announcement_id = uuid.uuid4()
            events = content.draft_announcement(announcement_id, staff, now, {
                "title": {"es": f"Anuncio {hours}"}, "body": {"es": "Texto"}, "pinned": pinned}, CATALOG)
            state = None
            for event in work.events.append(stream_name("announcement", announcement_id), events, NO_STREAM):
                state = content.evolve(state, event)
            if publish:
                published = content.publish_announcement(state, staff, now, now - dt.timedelta(hours=hours))
                for event in work.events.append(stream_name("announcement", announcement_id), published, 0):
                    state = content.evolve(state, event)
            work.documents.save(state)
            made.append(state)
    with uow() as work:
        assert work.documents.load(made[0]["id"]) == made[0]
        assert work.documents.load(str(uuid.uuid4())) is None
        ours = {state["id"] for state in made}
        listed = [state["title"]["es"] for state in work.documents.listing("announcement") if state["id"] in ours]
        assert listed == ["Anuncio 2", "Anuncio 4", "Anuncio 1", "Anuncio 3"]
        published = [s["title"]["es"] for s in work.documents.listing("announcement", ["published"]) if s["id"] in ours]
        assert published == ["Anuncio 2", "Anuncio 1", "Anuncio 3"]
        assert [s["id"] for s in work.documents.listing("incident") if s["id"] in ours] == []


def test_content_search_stems_ignores_accents_and_finds_only_what_anyone_may_read(units):
    """The issue's examples, on both backends: "corte de fibra" is found from "cortes fibra" and
    from "fibra óptica", whatever the accents; drafts are not found, announcements for some
    customers only by those customers."""
    from services.content import search

    uow = units("content")
    staff = {"user_id": "u-staff", "name": "Agente", "role": "agent"}
    now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc)
    tag = uuid.uuid4().hex[:6]

    def made(work, decide, kind, publish=False):
        document_id = uuid.uuid4()
        state = None
        for event in work.events.append(stream_name(kind, document_id), decide(document_id), NO_STREAM):
            state = content.evolve(state, event)
        if publish:
            for event in work.events.append(stream_name(kind, document_id),
                                            content.publish_announcement(state, staff, now, now), 0):
                state = content.evolve(state, event)
        work.documents.save(state)
        return state["id"]

    with uow() as work:
        outage = made(work, lambda i: content.declare_incident(i, staff, now, {
            "title": {"es": f"Corte de fibra {tag}"}, "message": {"es": "Investigamos la avería."},
            "components": ["fibre"], "impact": "major_outage"}, CATALOG), "incident")
        optic = made(work, lambda i: content.draft_announcement(i, staff, now, {
            "title": {"es": f"Nueva FIBRA ÓPTICA {tag}"}, "body": {"es": "Más velocidad."}}, CATALOG), "announcement",
            publish=True)
        draft = made(work, lambda i: content.draft_announcement(i, staff, now, {
            "title": {"es": f"Fibra en borrador {tag}"}, "body": {"es": "x"}}, CATALOG), "announcement")
        some = made(work, lambda i: content.draft_announcement(i, staff, now, {
            "title": {"es": f"Fibra para housing {tag}"}, "body": {"es": "x"}, "audience": ["housing"]}, CATALOG),
            "announcement", publish=True)
    with uow() as work:
        def found(query):
            return [state["id"] for state, _, _ in work.documents.find(search.query_words(query), now, 50)]
        assert outage in found("cortes fibra") and outage in found("fibra óptica") and outage in found("CORTÉ")
        assert optic in found("optica") and optic in found("fibras")
        assert found(f"cortes {tag}")[0] == outage  # two words found rank first
        assert draft not in found("fibra") and some not in found("fibra")
        for_housing = [state["id"] for state, _, _ in work.documents.find(["fibra"], now, 50, ["housing", "email"])]
        assert some in for_housing and draft not in for_housing  # a customer of housing finds it
        assert some not in [state["id"] for state, _, _ in work.documents.find(["fibra"], now, 50, ["email"])]
        assert outage not in found("router") and found("") == []


def test_content_incidents_since_are_the_open_ones_and_those_resolved_from_then_on(units):
    uow = units("content")
    staff = {"user_id": "u-staff", "name": "Agente", "role": "agent"}
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone.utc)
    made = {}
    with uow() as work:
        for name, resolved_at in (("old", start + dt.timedelta(hours=1)), ("recent", start + dt.timedelta(days=50)),
                                  ("open", None)):
            incident_id = uuid.uuid4()
            state = None
            events = content.declare_incident(incident_id, staff, start, {
                "title": {"es": name}, "message": {"es": "x"}, "components": ["fibre"], "impact": "degraded"}, CATALOG)
            for event in work.events.append(stream_name("incident", incident_id), events, NO_STREAM):
                state = content.evolve(state, event)
            if resolved_at:
                update = content.update_incident(state, staff, resolved_at, {"status": "resolved", "message": {"es": "ok"}},
                                                 CATALOG)
                for event in work.events.append(stream_name("incident", incident_id), update, 0):
                    state = content.evolve(state, event)
            work.documents.save(state)
            made[name] = state["id"]
    with uow() as work:
        found = {state["id"] for state in work.documents.incidents_since(start + dt.timedelta(days=30))}
    assert {made["recent"], made["open"]} <= found and made["old"] not in found


def test_download_files_keep_their_pieces_until_dropped_and_tally_fetches(units):
    uow = units("content")
    download_id, file_id, abandoned_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone.utc)
    with uow() as work:
        work.files.start(file_id, download_id, "router.zip", 7, start)
        work.files.start(abandoned_id, download_id, "old.zip", 3, start - dt.timedelta(days=2))
        work.files.put_piece(file_id, 0, b"abcd")
        work.files.put_piece(file_id, 1, b"xyz")
        work.files.put_piece(file_id, 1, b"efg")  # sent again: replaces
        work.files.count_download(download_id)
        work.files.count_download(download_id)
    with uow() as work:
        assert work.files.received(file_id) == (2, 7)
        assert work.files.piece(file_id, 1) == b"efg" and work.files.piece(file_id, 2) is None
        assert work.files.file(file_id)["complete"] is False
        work.files.complete(file_id, "application/zip", "ab" * 32)
        assert work.files.file(file_id) == {"file_id": str(file_id), "download_id": str(download_id), "name": "router.zip",
                                            "size": 7, "content_type": "application/zip", "sha256": "ab" * 32,
                                            "complete": True}
        assert sorted(work.files.files_of(download_id)) == sorted([str(file_id), str(abandoned_id)])
        assert work.files.abandoned(start - dt.timedelta(days=1)) == [str(abandoned_id)]
        assert work.files.counts([download_id, uuid.uuid4()]) == {str(download_id): 2}
        work.files.drop([abandoned_id])
    with uow() as work:
        assert work.files.file(abandoned_id) is None and work.files.files_of(download_id) == [str(file_id)]
        work.files.drop([file_id])
        assert work.files.piece(file_id, 0) is None and work.files.received(file_id) == (0, 0)
