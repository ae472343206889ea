"""The live feed against a real broker (services/gateway/live.py LiveFeed): it hears the tickets
service's events and the gateways' presence only while a stream is open, tells every page to
refetch after its connection was cut, and stops consuming once nobody watches."""
import json

import kombu
import pytest
import requests

from helpdesk import testing
from helpdesk.messaging import events_exchange
from services.gateway.live import PRESENCE_EXCHANGE, LiveFeed, Subscription, _CLOSED

AGENT = {"user_id": "ana", "role": "agent", "name": "Ana", "departments": ["networks"]}
BOSS = {"user_id": "boss", "role": "supervisor", "name": "Jefa", "departments": []}


@pytest.fixture
def feed(vhost):
    name, uri = vhost
    with kombu.Connection(uri) as connection:  # as the tickets service declares it
        events_exchange("tickets")(connection.default_channel).declare()
    feed = LiveFeed().start_with(uri)
    feed.idle_seconds = 0.5
    yield feed, uri, name
    feed.stop()


def publish_event(uri, ticket, kind, position, **data):
    envelope = {"stream": f"ticket-{ticket}", "type": kind, "stream_position": position, "data": data}
    with kombu.Connection(uri) as connection:
        connection.Producer().publish(json.dumps(envelope), exchange=events_exchange("tickets"),
                                      routing_key=kind, content_type="application/json")


def next_message(subscription, timeout=5):
    message = subscription.next(timeout)
    assert message not in (None, _CLOSED), "nothing came"
    return message


def live_queues(rabbit, vhost):
    listed = requests.get(f"{rabbit.api}/api/queues/{requests.utils.quote(vhost, safe='')}", auth=rabbit.auth,
                          timeout=10).json()
    return [q["name"] for q in listed if q["name"].startswith("gateway.live.")]


def test_a_stream_hears_events_and_presence_through_the_broker_and_the_feed_stops_when_nobody_watches(
        feed, rabbit):
    feed, uri, vhost = feed
    assert live_queues(rabbit, vhost) == []  # nobody watching: nothing consumed
    queue, colleague = Subscription(AGENT, queues=["networks"]), Subscription(BOSS, tickets=["t9"])
    feed.follow(queue)  # returns once the feed hears the broker
    feed.follow(colleague)
    assert len(live_queues(rabbit, vhost)) == 1
    publish_event(uri, "t1", "TicketOpened", 0, department="networks")
    assert next_message(queue) == ("ticket", {"ticket_id": "t1", "version": 0, "type": "TicketOpened",
                                              "department": "networks"})
    feed.announce({"ticket_id": "t9", "user_id": "ana", "name": "Ana", "activity": "replying", "expires_in": 15})
    kind, notice = next_message(colleague)
    assert (kind, notice["name"], notice["activity"]) == ("presence", "Ana", "replying")
    feed.leave(queue)
    feed.leave(colleague)
    assert testing.wait_until(lambda: live_queues(rabbit, vhost) == [], timeout=10)
    feed.follow(queue)  # and it starts again for the next stream
    publish_event(uri, "t1", "TicketAssigned", 1, agent_id="ana")
    assert next_message(queue)[1]["type"] == "TicketAssigned"


def test_after_its_connection_was_cut_the_feed_comes_back_and_every_page_refetches(feed, rabbit):
    feed, uri, vhost = feed
    queue = Subscription(AGENT, queues=["networks"])
    feed.follow(queue)
    def connections():
        listed = requests.get(f"{rabbit.api}/api/vhosts/{requests.utils.quote(vhost, safe='')}/connections",
                              auth=rabbit.auth, timeout=10)
        return [c["name"] for c in listed.json()]
    names = testing.wait_until(connections, timeout=15)  # the management API lists them with a delay
    assert names
    for name in names:
        requests.delete(f"{rabbit.api}/api/connections/{requests.utils.quote(name, safe='')}", auth=rabbit.auth,
                        timeout=10)
    assert next_message(queue, timeout=15) == ("ready", {})
    publish_event(uri, "t2", "TicketOpened", 0, department="networks")
    assert next_message(queue)[1]["ticket_id"] == "t2"
    assert PRESENCE_EXCHANGE.name == "gateway.presence"
