"""Rate limits on customers (issue 10, finding 9), end to end on a system of its own with the
production limits on opening (the suite's shared system runs with generous ones): the 21st ticket
a customer opens within the hour is refused with 429 and Retry-After, and nothing of it is
written; staff opening for that customer are not limited."""
import pytest

from .conftest import as_user, system_of_its_own

CUSTOMER = "cliente@demo.example"


@pytest.fixture(scope="module")
def limited_system(rabbit, tmp_path_factory):
    with system_of_its_own(rabbit, tmp_path_factory.mktemp("limits"), {
            "OPENS_PER_ACCOUNT_HOUR": "20", "OPENS_PER_COMPANY_HOUR": "100",
            "COMMENTS_PER_ACCOUNT_HOUR": "60", "CC_ADDRESSES_PER_ACCOUNT_DAY": "10"}) as system:
        yield system


def opening(title):
    return {"department": "systems", "title": title, "description": "Prueba de límites"}


def test_the_21st_open_within_an_hour_is_429_with_retry_after_and_writes_nothing(limited_system):
    customer = as_user(limited_system, CUSTOMER)
    for number in range(20):
        answer = customer.call("POST", "/api/v1/tickets", opening(f"Ticket {number}"))
        assert answer.status_code == 201, answer.text
    refused = customer.call("POST", "/api/v1/tickets", opening("Uno de más"))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    listed = customer.call("GET", "/api/v1/tickets?limit=100").json()
    titles = [item["title"] for item in listed["items"]]
    assert len(titles) == 20 and "Uno de más" not in titles

    # staff opening for the same customer are not limited
    supervisor = as_user(limited_system, "supervisor@helpdesk.example")
    me = customer.call("GET", "/api/v1/me").json()
    for_them = supervisor.call("POST", "/api/v1/tickets", dict(opening("Por teléfono"), on_behalf_of=me["user_id"],
                                                               channel="phone"))
    assert for_them.status_code == 201, for_them.text
