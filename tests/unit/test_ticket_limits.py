"""Rate limits on customers (issue 10, finding 9): pure arithmetic with the time given."""
import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tickets import limits

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
OPENS = limits.Limit("opens_per_account", "account", 20, HOUR)
CUSTOMER = {"user_id": "u1", "company_id": "c1", "role": "customer"}


def used(count, start=NOW - dt.timedelta(minutes=30), step=dt.timedelta(seconds=1)):
    return [(f"t{i}", start + i * step) for i in range(count)]


def decided(limit, recent, items):
    """The decision on `recent` (item, at) rows, summed up as the repositories sum them up."""
    return limits.decide(limit, limits.Counted.of(recent, items, NOW - limit.window, limit.maximum), items, NOW)


def reference(limit, recent, items):
    """The decision written out on every row of the window, independently of Counted."""
    start = NOW - limit.window
    recent = sorted((at, item) for item, at in recent if at > start)
    new = list(dict.fromkeys(item for item in items if item not in {item for _, item in recent}))
    excess = len(recent) + len(new) - limit.maximum
    if excess <= 0:
        return new, None
    if len(new) > limit.maximum:
        return new, int(limit.window.total_seconds())
    return new, max(1, math.ceil((recent[excess - 1][0] + limit.window - NOW).total_seconds()))


@settings(max_examples=300, deadline=None)
@given(maximum=st.integers(1, 6), ages=st.lists(st.integers(0, 7200), max_size=15),
       items=st.lists(st.sampled_from([f"t{i}" for i in range(20)]), min_size=1, max_size=4))
def test_the_summed_up_usage_decides_as_every_row_would(maximum, ages, items):
    """Counted keeps only what decide reads (a busy key's window holds thousands of rows), also
    when a lowered maximum leaves more in the window than it allows."""
    limit = limits.Limit("opens_per_account", "account", maximum, HOUR)
    recent = [(f"t{i}", NOW - dt.timedelta(seconds=age)) for i, age in enumerate(ages)]
    assert decided(limit, recent, items) == reference(limit, recent, items)


def test_the_twentieth_open_within_the_hour_is_allowed_and_recorded():
    assert decided(OPENS, used(19), ["new"]) == (["new"], None)


def test_the_twenty_first_waits_until_the_oldest_leaves_the_window():
    recent = used(20)  # the oldest was 30 minutes ago: it leaves the window in 30 minutes
    assert decided(OPENS, recent, ["new"]) == (["new"], 30 * 60)


def test_usage_older_than_the_window_does_not_count():
    stale = used(20, start=NOW - 2 * HOUR)
    assert decided(OPENS, stale, ["new"]) == (["new"], None)


def test_an_item_already_counted_costs_nothing_again():
    cc = limits.Limit("cc_addresses_per_account", "account", 2, dt.timedelta(days=1))
    recent = [("a@x.example", NOW - HOUR), ("b@x.example", NOW - HOUR)]
    assert decided(cc, recent, ["a@x.example", "b@x.example"]) == ([], None)
    assert decided(cc, recent, ["c@x.example"]) == (["c@x.example"], 23 * 3600)


def test_more_new_items_than_the_limit_can_never_fit_and_wait_a_whole_window():
    cc = limits.Limit("cc_addresses_per_account", "account", 2, dt.timedelta(days=1))
    assert decided(cc, [], ["a@x", "b@x", "c@x"])[1] == 24 * 3600


def test_the_wait_is_at_least_a_second():
    recent = used(20, start=NOW - HOUR + dt.timedelta(milliseconds=10))
    assert decided(OPENS, recent, ["new"])[1] == 1


def test_staff_and_services_are_exempt_customers_are_not():
    assert limits.exempt({"role": "agent"}) and limits.exempt({"role": "admin"})
    assert limits.exempt({"role": "system"})
    assert not limits.exempt(CUSTOMER)


def test_an_opening_counts_for_the_account_the_company_and_each_copied_address():
    usage = limits.usage_of_opening("t9", ["A@x.example", "b@x.example"])
    keys = {key: items for _, key, items in usage.keys(CUSTOMER, limits.from_config({}))}
    assert keys == {"opens_per_account:u1": ["t9"], "opens_per_company:c1": ["t9"],
                    "cc_addresses_per_account:u1": ["a@x.example", "b@x.example"]}


def test_a_customer_without_company_is_limited_per_account_only():
    usage = limits.usage_of_opening("t9", [])
    keys = [key for _, key, _ in usage.keys(dict(CUSTOMER, company_id=None), limits.from_config({}))]
    assert keys == ["opens_per_account:u1"]


def test_a_cc_change_counts_only_addresses_not_already_copied():
    usage = limits.usage_of_cc_change(("a@x.example",), ["A@x.example", "new@x.example"])
    assert usage.items == {"cc_addresses_per_account": ["new@x.example"]}


def test_comments_are_counted_once_per_ticket_position():
    assert limits.usage_of_comment("t1", 7).items == {"comments_per_account": ["t1/7"]}


def test_the_production_defaults_and_configured_maxima():
    defaults = limits.from_config(None)
    assert [defaults[n].maximum for n in ("opens_per_account", "opens_per_company", "comments_per_account",
                                          "cc_addresses_per_account")] == [20, 100, 60, 10]
    assert limits.from_config({"opens_per_account": "3"})["opens_per_account"].maximum == 3
