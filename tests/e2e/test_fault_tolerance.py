"""Issue 10's fault test: several hundred tickets opened by concurrent clients that retry every 503
(and every lost connection) with the same Idempotency-Key and body, while tickets, routing and the
notifier are SIGKILLed and RabbitMQ and PostgreSQL are each stopped and started again.

Afterwards: every request exists exactly once, every ticket is routed, every recipient has one
mail per event, no answer was a 5xx other than 503, and every dead-letter queue is empty.

The system runs on servers of its own (testing.PrivateStack: deploy/dev/stack.sh on a temporary
directory and free ports), since the shared ones must never be restarted.

Mail is at-least-once at one point: a crash (or the database going away) between the SMTP
server's 250 and the notifier's commit sends that event's mails again, under the same Message-IDs,
which mailboxes collapse. So the distinct Message-IDs must be exactly the expected set, and
repeats are allowed only for one event's mails (one more each) per notifier kill and per database
restart."""
import collections
import itertools
import signal
import threading
import time
import uuid

import psycopg2
import pytest
import requests

from helpdesk import config, testing
from helpdesk.testing import PrivateStack, RunningSystem
from services.notifier.mail import sending_lanes

from .conftest import Api

pytestmark = pytest.mark.fault

CLIENTS, PER_CLIENT = 8, 38  # 304 tickets
CUSTOMERS = ("cliente@demo.example", "soporte@demo.example")
GROUP_USER = "soporte@demo.example"  # the demo company's group user: mailed about every ticket of it
CLIENT_DEADLINE = 150  # seconds a client may take for all its requests, faults included
RATE = 24  # new requests per second, all clients together: the load lasts as long as the faults


class Pace:
    """Spaces the clients' new requests (not their retries) RATE a second, with no catching up
    after a stall: so that the load goes on through every fault, however fast the system is."""

    def __init__(self, rate):
        self.interval, self.next, self.lock = 1 / rate, time.monotonic(), threading.Lock()

    def wait(self):
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        time.sleep(slot - now)


@pytest.fixture(scope="session")
def closing():
    """Servers being stopped in the background (RabbitMQ takes some 8 s to stop): the tests that
    follow need not wait for them, the session's end does."""
    pending = []
    yield pending
    for thread in pending:
        thread.join(timeout=120)


@pytest.fixture(scope="module")
def stack(closing):
    servers = PrivateStack(prefix="helpdesk-fault").start()
    yield servers
    closing.append(threading.Thread(target=servers.close, name="closing the fault test's servers"))
    closing[-1].start()


@pytest.fixture(scope="module")
def fault_system(stack, tmp_path_factory):
    database_url = testing.create_database(stack.database_url)
    system = RunningSystem(database_url, stack.rabbit(), tmp_path_factory.mktemp("fault-system"))
    try:
        system.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield system
    system.stop()


def agent_of(department):
    return f"agent-{department.replace('_', '-')}@helpdesk.example"


def request_body(run, client, n):
    """A mix that routing treats four ways: a department ticket that waits in its queue (sales,
    networks: closed at FAKE_NOW), one that 24-hour support assigns at once, and ITIL tickets
    that routing itself routes (to networks; urgent ones to 24-hour support, which assigns)."""
    title = f"Fallo {run} {client}-{n}"
    kind = n % 4
    if kind == 0:
        body = {"department": "sales"}
    elif kind == 1:
        body = {"department": "support_24h", "urgency": "high"}
    elif kind == 2:
        body = {"itil": {"type": "incident", "service": "internet_access", "category": "slowness"}, "urgency": "medium"}
    else:
        body = {"itil": {"type": "incident", "service": "hosting", "category": "total_outage"}, "urgency": "high"}
    body.update(title=title, description=f"Sin servicio ({client}-{n})")
    if n % 3 == 0:
        body["cc"] = f"copia-{run}-{client}-{n}@example.org"
    return body


class Client:
    """Opens its tickets one after the other; retries a 503 or a lost connection with the same key
    and body until the answer is 201, recording every status it got."""

    def __init__(self, system, number, run, email):
        self.number, self.run = number, run
        self.api = Api(system).login(email)
        self.email = email
        self.statuses = collections.Counter()
        self.answers = {}  # title -> ticket id
        self.failures = []

    def open_all(self, pace, progress):
        deadline = time.monotonic() + CLIENT_DEADLINE
        for n in range(PER_CLIENT):
            pace.wait()
            body = request_body(self.run, self.number, n)
            key = {"Idempotency-Key": f"fault-{self.run}-{self.number}-{n}"}
            while True:
                try:
                    response = self.api.call("POST", "/api/v1/tickets", body, headers=key)
                except requests.RequestException as exc:
                    self.statuses[type(exc).__name__] += 1
                    response = None
                if response is not None:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 201:
                        self.answers[body["title"]] = response.json()["ticket_id"]
                        next(progress)
                        break
                    if response.status_code != 503:
                        self.failures.append((body["title"], response.status_code, response.text[:300]))
                        break
                if time.monotonic() > deadline:
                    self.failures.append((body["title"], "gave up"))
                    return
                time.sleep(0.25)


def events_of(database_url):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT event_id, stream_name, type, data FROM tickets.events WHERE category = 'ticket'"
                    " ORDER BY global_position")
        events = cur.fetchall()
    conn.close()
    return events


def query(database_url, statement):
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()
    finally:
        conn.close()


def expected_mails(events):
    """(event id, recipient) of every mail the ticket events call for: the customer side (the
    requester, the group user, copied addresses) hears of the opening, of a routing and of an
    assignment; the agents of a department hear of a ticket entering its queue."""
    tickets, expected = {}, set()
    for event_id, stream, kind, data in events:
        ticket = tickets.setdefault(stream, {})
        if kind == "TicketOpened":
            ticket.update(customers={data["requester_email"].lower(), GROUP_USER,
                                     *(a.lower() for a in data.get("cc") or ())})
        else:
            assert kind in ("TicketRouted", "TicketAssigned"), (stream, kind)  # nothing else happens to them
        recipients = set(ticket["customers"])
        if kind in ("TicketOpened", "TicketRouted") and data.get("department"):
            recipients.add(agent_of(data["department"]))
        expected |= {(str(event_id), recipient) for recipient in recipients}
    return expected


def mail_counts(system):
    """Message-ID -> how many arrived, and (subject, recipient) -> how many arrived."""
    by_id, by_subject = collections.Counter(), collections.Counter()
    for mail in system.mails():
        by_id[(mail["Message-ID"], mail["X-Envelope-To"].lower())] += 1
        by_subject[(str(mail["Subject"]), mail["X-Envelope-To"].lower())] += 1
    return by_id, by_subject


def sent_pairs(by_id):
    return {(message_id[1:].split(".", 1)[0], recipient) for message_id, recipient in by_id}


def dead_letters(stack, system):
    rabbit = stack.rabbit()
    queues = rabbit._call("get", f"/api/queues/{requests.utils.quote(system.vhost, safe='')}?columns=name").json()
    return {queue["name"]: rabbit.queue_depth(system.vhost, queue["name"])
            for queue in queues if queue["name"].endswith(".dlq")}


def test_tickets_survive_killed_services_and_restarted_servers(stack, fault_system):
    system, run = fault_system, uuid.uuid4().hex[:6]
    started = time.monotonic()
    clients = [Client(system, number, run, CUSTOMERS[number % len(CUSTOMERS)]) for number in range(CLIENTS)]
    total = CLIENTS * PER_CLIENT
    counter = itertools.count(1)
    done = [0]

    def progress():
        while True:
            yield
            done[0] = next(counter)

    ticks = progress()
    next(ticks)
    pace = Pace(RATE)
    threads = [threading.Thread(target=client.open_all, args=(pace, ticks)) for client in clients]
    for thread in threads:
        thread.start()

    faults = []  # (what, answers when it began, answers when it ended, seconds it took)

    def at(answered, what, action):
        assert testing.wait_until(lambda: done[0] >= answered, timeout=60, interval=0.05), (
            f"the load stalled at {done[0]} answers before {what}:\n{system.log_tail()}")
        began, before = time.monotonic(), done[0]
        action()
        faults.append((what, before, done[0], round(time.monotonic() - began, 1)))

    def kill(name):
        def action():
            system.signal(name, signal.SIGKILL)
            system.restart(name)
        return action

    at(total * 1 // 12, "kill -9 tickets", kill("tickets"))
    at(total * 3 // 12, "restart RabbitMQ", lambda: stack.restart("rabbitmq"))
    at(total * 5 // 12, "kill -9 routing", kill("routing"))
    at(total * 7 // 12, "restart PostgreSQL", lambda: stack.restart("postgres"))
    at(total * 9 // 12, "kill -9 notifier", kill("notifier"))
    for thread in threads:
        thread.join(timeout=CLIENT_DEADLINE + 30)
    loaded = time.monotonic() - started
    # each fault came while every client still had requests to send
    assert all(began < total - CLIENTS for _, began, _, _ in faults), f"a fault came after the load: {faults}"

    statuses = sum((client.statuses for client in clients), collections.Counter())
    print(f"\nload: {loaded:.1f} s, faults {faults}, statuses {dict(statuses)}")
    assert [f for client in clients for f in client.failures] == []
    assert {status: count for status, count in statuses.items()
            if isinstance(status, int) and status >= 500 and status != 503} == {}
    answers = {title: ticket_id for client in clients for title, ticket_id in client.answers.items()}
    assert len(answers) == total

    # every request exactly once, under the id it was answered with: in the event store and the read model
    opened = collections.defaultdict(list)
    for event_id, stream, kind, data in events_of(system.database_url):
        if kind == "TicketOpened":
            opened[data["title"]].append(data["ticket_id"])
    assert {title: ids for title, ids in opened.items() if len(ids) != 1} == {}
    assert {title: ids[0] for title, ids in opened.items()} == answers
    summaries = collections.defaultdict(list)
    for title, ticket_id in query(system.database_url, "SELECT title, ticket_id FROM tickets.ticket_summaries"):
        summaries[title].append(str(ticket_id))
    assert {title: ids for title, ids in summaries.items() if len(ids) != 1} == {}
    assert {title: ids[0] for title, ids in summaries.items()} == answers

    # every ticket routed: in routing's queue, in the department its rules pick; ITIL tickets moved
    # there by a TicketRouted; every 24-hour support ticket assigned (the only department on shift)
    def routing_done():
        tickets = {str(t): (d, str(a) if a else None, o, dept) for t, d, a, o, dept in query(
            system.database_url,
            "SELECT r.ticket_id, r.department, s.assignee_id, r.open, s.department FROM routing.tickets r"
            " JOIN tickets.ticket_summaries s USING (ticket_id)")}
        wrong = {}
        for title, ticket_id in answers.items():
            n = int(title.rsplit("-", 1)[1])
            want = {0: "sales", 1: "support_24h", 2: "networks", 3: "support_24h"}[n % 4]
            found = tickets.get(ticket_id)
            if found is None or found[0] != want or found[3] != want or (want == "support_24h") != bool(found[1]):
                wrong[title] = found
        return wrong
    testing.wait_until(lambda: not routing_done(), timeout=30, interval=0.5)
    assert routing_done() == {}
    routed = time.monotonic() - started

    # one mail per (event, recipient): the distinct Message-IDs are exactly the expected ones
    expected = expected_mails(events_of(system.database_url))
    testing.wait_until(lambda: expected <= sent_pairs(mail_counts(system)[0]), timeout=30, interval=0.5)
    mailed = time.monotonic() - started
    time.sleep(1.5)  # a mail too many would be on its way by now
    by_id, by_subject = mail_counts(system)
    ticket_mails = {key: count for key, count in by_id.items()
                    if (key[0][1:].split(".", 1)[0], key[1]) in expected}
    assert sorted(expected - sent_pairs(by_id)) == []
    assert sorted(sent_pairs(by_id) - expected - sent_pairs(identity_mails(system, by_id))) == []
    repeats = {key: count for key, count in ticket_mails.items() if count > 1}
    allowed = sending_lanes(config.load()) * sum(1 for what, *_ in faults if what in ("kill -9 notifier", "restart PostgreSQL"))
    # each such fault may resend the mails of the events being sent, one per sending lane (one
    # mail more to each of their recipients), nothing else
    repeated_events = {key[0][1:].split(".", 1)[0] for key in repeats}
    assert len(repeated_events) <= allowed and all(count == 2 for count in repeats.values()), repeats
    subject_repeats = {key: count for key, count in by_subject.items() if count > 1}
    assert sum(count - 1 for count in subject_repeats.values()) <= sum(count - 1 for count in repeats.values()), (
        subject_repeats)
    failed = query(system.database_url, "SELECT recipient, last_error FROM notifier.mail_outbox WHERE status <> 'sent'")
    assert failed == []

    assert {queue: depth for queue, depth in dead_letters(stack, system).items() if depth} == {}
    print(f"fault test: routed at {routed:.1f} s, {len(expected)} mails at {mailed:.1f} s,"
          f" done {time.monotonic() - started:.1f} s after the load began")


def identity_mails(system, by_id):
    """Mails of identity events (the seed's accounts): not this test's subject, but none may repeat."""
    rows = query(system.database_url, "SELECT event_id::text FROM identity.events")
    ids = {row[0] for row in rows}
    return {key: count for key, count in by_id.items() if key[0][1:].split(".", 1)[0] in ids}
