"""Delivery against a real SMTP server: a permanent refusal is recorded with its reason and not
retried; a server that is down is retried later; nothing is sent twice."""
import contextlib
import socket
import uuid

import eventlet
import pytest
from aiosmtpd.controller import Controller

from helpdesk import testing
from helpdesk.migrate import migrate_all
from helpdesk.testing import free_port
from services.notifier import outbox
from services.notifier.mail import MailOutbox, SmtpSender
from services.notifier.plans import Mail
from services.notifier.render import Renderer

RENDERER = Renderer("integration-test-link-secret", "https://help.example", "Soporte <s@example.net>")


class Server:
    """Accepts every recipient but one, which it refuses for good (550)."""

    def __init__(self):
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received += envelope.rcpt_tos
        return "250 Message accepted"


@pytest.fixture(scope="module")
def db():
    """A database of this module's own: the session's running system (the e2e tests') has a
    notifier on the shared one, which claims due mails too and would send these itself."""
    from helpdesk.db import Database

    from ..conftest import setting

    admin = setting("DATABASE_URL")
    url = testing.create_database(admin)
    migrate_all(url, ["notifier"])
    database = Database(url, size=8)
    yield database
    database.close()
    testing.drop_database(admin, url)


@pytest.fixture(scope="module")
def notifier_schema(db):
    """Migrated with the module's database."""
    return db


@pytest.fixture
def smtp():
    server = Server()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield server, SmtpSender("127.0.0.1", controller.port)
    controller.stop()


def queue(db, *recipients):
    box = MailOutbox()
    with db.transaction() as cur:
        for recipient in recipients:
            box.add(cur, uuid.uuid4(), Mail(recipient, "es", "account_exists", {"name": "Ana"}))
    return box


def test_a_permanent_refusal_is_recorded_with_its_reason_and_never_retried(db, notifier_schema, smtp):
    server, sender = smtp
    tag = uuid.uuid4().hex[:6]
    box = queue(db, f"ana-{tag}@example.com", f"nobody-{tag}@example.com")
    assert box.send_due(db, sender, RENDERER) >= 1
    assert f"ana-{tag}@example.com" in server.received
    with db.transaction() as cur:
        (given_up,) = [m for m in outbox.failed(cur) if m["recipient"] == f"nobody-{tag}@example.com"]
    assert "550" in given_up["last_error"] and given_up["attempts"] == 1
    box.send_due(db, sender, RENDERER)  # nothing is due any more: neither is sent again
    assert server.received.count(f"ana-{tag}@example.com") == 1
    assert f"nobody-{tag}@example.com" not in server.received


def test_a_server_that_is_down_is_retried_later_not_given_up(db, notifier_schema, smtp):
    server, sender = smtp
    tag = uuid.uuid4().hex[:6]
    box = queue(db, f"later-{tag}@example.com")
    down = SmtpSender("127.0.0.1", free_port())  # nobody listens there
    box.send_due(db, down, RENDERER)
    with db.transaction() as cur:
        cur.execute("SELECT status, attempts, next_attempt_at > now() FROM notifier.mail_outbox WHERE recipient = %s",
                    (f"later-{tag}@example.com",))
        assert cur.fetchone() == ("pending", 1, True)
        cur.execute("UPDATE notifier.mail_outbox SET next_attempt_at = now() WHERE recipient = %s",
                    (f"later-{tag}@example.com",))
    box.send_due(db, sender, RENDERER)
    assert server.received.count(f"later-{tag}@example.com") == 1


def test_an_operator_can_send_a_given_up_mail_again(db, notifier_schema, smtp):
    server, sender = smtp
    tag = uuid.uuid4().hex[:6]
    box = queue(db, f"nobody-{tag}@example.com")
    box.send_due(db, sender, RENDERER)
    with db.transaction() as cur:
        (mail,) = [m for m in outbox.failed(cur) if m["recipient"] == f"nobody-{tag}@example.com"]
        assert outbox.retry(cur, [mail["id"]]) == 1
        cur.execute("SELECT status FROM notifier.mail_outbox WHERE id = %s", (mail["id"],))
        assert cur.fetchone() == ("pending",)


class SlowServer:
    """A sender whose server takes its time over each mail, counting how many are in flight."""

    def __init__(self):
        self.in_flight = self.most_in_flight = 0
        self.received = []

    @contextlib.contextmanager
    def session(self):
        yield self

    def send_all(self, mails):
        pool = eventlet.GreenPool(len(mails))
        return list(pool.imap(lambda mail: self._send(*mail), mails))

    def _send(self, raw, sender, recipient):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        eventlet.sleep(0.02)  # between the server's 250 and our commit: what a crash would send twice
        self.received.append(recipient)
        self.in_flight -= 1


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_one_events_mails_at_a_time_are_in_flight_per_lane_however_many_workers_send(db, notifier_schema, lanes):
    """Every event handler and the timer call send_due. With each of them sending, each had a
    mail between the server's 250 and the commit, and a database restart sent all of those
    twice (issue 10's fault test). One sends, an event's mails at once; the others leave their
    mail to it. With n lanes (NOTIFIER.sending_lanes), n events' mails at the most."""
    tag = uuid.uuid4().hex[:6]
    server = SlowServer()
    box = MailOutbox()
    with db.transaction() as cur:
        for n in range(0, 24, 2):  # twelve events of two mails each: every lane sends several
            box.add(cur, uuid.uuid4(), *(Mail(f"turn-{tag}-{m}@example.com", "es", "account_exists", {"name": "Ana"})
                                         for m in (n, n + 1)))
    workers = [eventlet.spawn(box.send_due, db, server, RENDERER, lanes=lanes) for _ in range(6)]
    eventlet.sleep(0.03)  # the first are sending
    late = queue(db, f"turn-{tag}-late@example.com")
    assert late.send_due(db, server, RENDERER, lanes=lanes) == 0  # busy: left to those sending, not to the timer
    assert sum(worker.wait() for worker in workers) >= 25
    ours = sorted(r for r in server.received if r.startswith(f"turn-{tag}-"))
    assert ours == sorted([f"turn-{tag}-{n}@example.com" for n in range(24)] + [f"turn-{tag}-late@example.com"])
    assert server.most_in_flight == 2 * lanes  # the two mails of one event per lane, never more


def test_connections_are_kept_between_batches_one_per_mail_of_an_event_and_a_dropped_one_is_replaced(smtp):
    """The sender keeps its connections between batches (a connection per event cost a handshake,
    an EHLO and a QUIT per ticket), sends an event's mails at once on up to four connections, and
    replaces a kept connection the server closed, before anything of the mail went."""
    server, sender = smtp

    def mail(n):
        return (f"Subject: {n}\r\n\r\nbody {n}\r\n".encode(), "helpdesk@example.com", f"to{n}@example.com")
    for n in range(3):
        with sender.session() as batch:
            assert batch.send_all([mail(n)]) == [None]
    assert len(sender._kept) == 1
    (first, _), = sender._kept
    with sender.session() as batch:
        assert batch.send_all([mail(3), mail(4), mail(5)]) == [None, None, None]
        assert batch.connections[0][0] is first  # the kept one, and two more for the others
    assert len(sender._kept) == 3
    for smtp_connection, _ in sender._kept:
        smtp_connection.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed them while idle
    with sender.session() as batch:
        assert batch.send_all([mail(6), mail(7)]) == [None, None]
    with sender.session() as batch:  # more mails than the connections one event may use
        assert batch.send_all([mail(n) for n in range(8, 14)]) == [None] * 6
        assert len(batch.connections) == batch.PARALLEL == 4
    sender.close()
    assert sender._kept == []
    assert sorted(server.received) == sorted(f"to{n}@example.com" for n in range(14))  # each once


def test_sending_lanes_share_the_kept_connections_instead_of_one_holding_them_all(smtp):
    """Each lane takes at most the four connections an event may use: a lane that took every kept
    connection left the others to open new ones, and the kept ones grew with every round."""
    server, sender = smtp

    def mail(n):
        return (f"Subject: {n}\r\n\r\nbody {n}\r\n".encode(), "helpdesk@example.com", f"lane{n}@example.com")
    with sender.session() as first, sender.session() as second:  # two lanes, each with an event of four
        assert first.send_all([mail(n) for n in range(4)]) == [None] * 4
        assert second.send_all([mail(n) for n in range(4, 8)]) == [None] * 4
    assert len(sender._kept) == 8
    for round_ in range(3):  # the same two lanes again: they take the kept ones, four each
        with sender.session() as first, sender.session() as second:
            assert len(first.connections) == len(second.connections) == 4
            assert first.send_all([mail(10 + round_)]) == [None]
            assert second.send_all([mail(20 + round_)]) == [None]
        assert len(sender._kept) == 8  # none opened beyond them
    sender.close()
    assert len(server.received) == 14


def test_mails_are_counted_sent_retried_and_failed_once_each(db, notifier_schema, smtp):
    from helpdesk import metrics

    def counted(outcome):
        return metrics.REGISTRY.get_sample_value("helpdesk_mails_total", {"service": "notifier", "outcome": outcome}) or 0

    server, sender = smtp
    tag = uuid.uuid4().hex[:6]
    before = {outcome: counted(outcome) for outcome in ("sent", "retried", "failed")}
    box = queue(db, f"ana-{tag}@example.com", f"nobody-{tag}@example.com")
    box.send_due(db, sender, RENDERER)
    assert counted("sent") - before["sent"] >= 1 and counted("failed") - before["failed"] >= 1
    sent, failed = counted("sent"), counted("failed")
    queue(db, f"later-{tag}@example.com")
    box.send_due(db, SmtpSender("127.0.0.1", free_port()), RENDERER)  # nobody listens: tried again later
    assert counted("retried") - before["retried"] >= 1
    assert (counted("sent"), counted("failed")) == (sent, failed)
