"""Kill the notifier while it sends a batch; after its restart every expected mail arrives once.

"Once" is per Message-ID, which is deterministic per (event, recipient): SMTP has no idempotent
delivery, so a crash between the server's 250 and the notifier's commit can send that one mail
again, under the same Message-ID, which mailboxes collapse: one mail per event in flight, one
event per sending lane. The test counts both ways."""
import collections
import signal
import uuid

from helpdesk import config, testing
from services.notifier.mail import sending_lanes

from .conftest import as_user

LANES = sending_lanes(config.load())  # as the test system runs it


def test_a_killed_notifier_loses_no_mail_and_duplicates_none(system):
    customer = as_user(system, "cliente@demo.example")
    run = uuid.uuid4().hex[:6]
    copies = [f"crash-{run}-{n}@example.org" for n in range(4)]
    titles = [f"Corte {run} {n}" for n in range(10)]
    notifier = system.named["notifier"]
    notifier.send_signal(signal.SIGSTOP)  # frozen: the events pile up in its queue
    for title in titles:
        response = customer.call("POST", "/api/v1/tickets", {"department": "sales", "title": title,
                                                            "description": "x", "cc": ",".join(copies)})
        assert response.status_code == 201, response.text
    notifier.send_signal(signal.SIGCONT)
    testing.wait_until(lambda: False, timeout=0.05)
    system.signal("notifier", signal.SIGKILL)  # 50 ms into a burst of 60 mails

    def arrived():
        return {address: collections.Counter(m["Message-ID"] for m in system.mails_to(address)
                                             if any(t in m["Subject"] for t in titles))
                for address in copies}

    sent_before_the_kill = sum(len(ids) for ids in arrived().values())
    assert sent_before_the_kill < len(copies) * len(titles), "the kill came after the work: nothing was tested"
    system.restart("notifier")
    assert testing.wait_until(lambda: all(len(ids) == len(titles) for ids in arrived().values()), timeout=30), (
        {a: len(ids) for a, ids in arrived().items()})
    testing.wait_until(lambda: False, timeout=1.5)  # anything extra would have arrived by now
    for address, ids in arrived().items():
        assert len(ids) == len(titles), address  # none missing, none extra
        duplicates = sum(count - 1 for count in ids.values())
        # at most a mail of each event in flight at the kill: one per sending lane
        assert duplicates <= LANES, (address, ids)
