"""The live updates' rules (services/gateway/live.py LiveHub and stream), without a broker."""
from services.gateway.live import BACKLOG, LiveHub, Subscription, _CLOSED, sse, stream

AGENT = {"user_id": "ana", "role": "agent", "name": "Ana", "departments": ["networks"]}
BOSS = {"user_id": "boss", "role": "supervisor", "name": "Jefa", "departments": []}
CUSTOMER = {"user_id": "cli", "role": "customer", "name": "Cliente", "departments": []}


def event(ticket, kind, position, **data):
    return {"stream": f"ticket-{ticket}", "type": kind, "stream_position": position, "data": data}


def drained(subscription):
    found = []
    while (message := subscription.next(0)) not in (None, _CLOSED):
        found.append(message)
    return found


def test_a_queue_hears_tickets_placed_in_it_and_those_it_was_shown_not_others():
    hub = LiveHub()
    queue = Subscription(AGENT, queues=["networks"])
    hub.follow(queue, placed=[("old", "networks")])
    hub.ticket_event(event("new", "TicketOpened", 0, department="networks"))
    hub.ticket_event(event("old", "CustomerCommented", 4))  # shown in the queue when it opened
    hub.ticket_event(event("elsewhere", "TicketOpened", 0, department="sales"))
    hub.ticket_event(event("unknown", "CustomerCommented", 2))  # never seen placed: nobody's queue
    assert drained(queue) == [
        ("ticket", {"ticket_id": "new", "version": 0, "type": "TicketOpened", "department": "networks"}),
        ("ticket", {"ticket_id": "old", "version": 4, "type": "CustomerCommented", "department": "networks"})]


def test_a_ticket_leaving_a_queue_tells_the_queue_it_left_and_the_one_it_joined():
    hub = LiveHub()
    networks, sales = Subscription(AGENT, queues=["networks"]), Subscription(BOSS, queues=["sales"])
    hub.follow(networks)
    hub.follow(sales)
    hub.ticket_event(event("t", "TicketOpened", 0, department="networks"))
    hub.ticket_event(event("t", "TicketReclassified", 1, department="sales", previous="networks"))
    hub.ticket_event(event("t", "CustomerCommented", 2))
    assert [m[1]["type"] for m in drained(networks)] == ["TicketOpened", "TicketReclassified"]
    assert [m[1]["type"] for m in drained(sales)] == ["TicketReclassified", "CustomerCommented"]
    assert hub.department_of("t") == "sales"


def test_internal_events_reach_staff_only():
    hub = LiveHub()
    customer, agent = Subscription(CUSTOMER, tickets=["t"]), Subscription(AGENT, tickets=["t"])
    hub.follow(customer)
    hub.follow(agent)
    for position, kind in enumerate(("InternalNoteAdded", "ProviderFaultMarked", "StaffReplied")):
        hub.ticket_event(event("t", kind, position))
    assert [m[1]["type"] for m in drained(customer)] == ["StaffReplied"]
    assert [m[1]["type"] for m in drained(agent)] == ["InternalNoteAdded", "ProviderFaultMarked", "StaffReplied"]


def test_presence_goes_to_the_colleagues_following_the_ticket_not_to_its_author_nor_customers():
    hub = LiveHub()
    ana, boss = Subscription(AGENT, tickets=["t"]), Subscription(BOSS, tickets=["t"])
    other, customer = Subscription(BOSS, tickets=["u"]), Subscription(CUSTOMER, tickets=["t"])
    for subscription in (ana, boss, other, customer):
        hub.follow(subscription)
    notice = {"ticket_id": "t", "user_id": "ana", "name": "Ana", "activity": "replying", "expires_in": 15}
    hub.presence(notice)
    assert drained(boss) == [("presence", notice)]
    assert drained(ana) == drained(other) == drained(customer) == []


def test_a_client_that_stops_reading_is_dropped_instead_of_growing_without_bound():
    hub = LiveHub()
    slow = Subscription(AGENT, tickets=["t"])
    hub.follow(slow)
    for position in range(BACKLOG + 5):
        hub.ticket_event(event("t", "CustomerCommented", position))
    assert slow.closed
    assert slow.next(0) is _CLOSED  # what it had waiting is dropped: it reconnects and refetches


def test_a_logout_ends_the_sessions_streams_only_and_a_reconnected_feed_asks_every_page_to_refetch():
    hub = LiveHub()
    mine, other = Subscription(AGENT, tickets=["t"], session="s1"), Subscription(AGENT, tickets=["t"], session="s2")
    hub.follow(mine)
    hub.follow(other)
    hub.end_session("s1")
    assert mine.closed and hub.subscriptions == {other}
    hub.reconnected()
    assert drained(other) == [("ready", {})]


def test_the_hub_forgets_the_oldest_departments_beyond_its_bound():
    hub = LiveHub(remember=2)
    for ticket in "abc":
        hub.ticket_event(event(ticket, "TicketOpened", 0, department="networks"))
    assert [hub.department_of(t) for t in "abc"] == [None, "networks", "networks"]


def test_a_stream_says_ready_pings_when_quiet_ends_in_time_and_leaves_the_hub():
    hub = LiveHub()
    subscription = Subscription(AGENT, tickets=["t"])
    hub.follow(subscription)
    subscription.put("ticket", {"ticket_id": "t", "version": 1, "type": "StaffReplied", "department": None})
    chunks = list(stream(subscription, hub, seconds=0.2, ping=0.05))
    assert chunks[0] == b"retry: 2000\n\nevent: ready\ndata: {}\n\n"
    assert chunks[1] == b'event: ticket\ndata: {"ticket_id":"t","version":1,"type":"StaffReplied","department":null}\n\n'
    assert chunks[2:] and set(chunks[2:]) == {b": ping\n\n"}
    assert hub.idle


def test_a_closed_subscription_ends_its_stream_and_data_stays_on_one_line():
    hub = LiveHub()
    subscription = Subscription(AGENT, tickets=["t"])
    hub.follow(subscription)
    subscription.close()
    assert list(stream(subscription, hub, seconds=5)) == [b"retry: 2000\n\nevent: ready\ndata: {}\n\n"]
    assert sse("presence", {"name": "Ana\n\nevent: fake"}) == b'event: presence\ndata: {"name":"Ana\\n\\nevent: fake"}\n\n'
