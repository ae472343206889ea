"""Idempotency-Key end to end: a command repeated with its key is done once and answered as the
first time; the key reused for another request is refused, naming the header."""
import time
import uuid

from .conftest import as_user, wait_for_mail


def opening(run):
    return {"department": "networks", "title": f"Sin línea {run}", "description": "No hay servicio",
            "cc": f"copia-{run}@example.org"}


def test_an_open_sent_twice_with_one_key_makes_one_ticket_one_set_of_mails_and_one_answer(system):
    run = uuid.uuid4().hex[:8]
    customer = as_user(system, "cliente@demo.example")
    key = {"Idempotency-Key": f"open-{run}"}
    first = customer.call("POST", "/api/v1/tickets", opening(run), headers=key)
    again = customer.call("POST", "/api/v1/tickets", opening(run), headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    listed = customer.call("GET", f"/api/v1/tickets?text={run}").json()["items"]
    assert [item["ticket_id"] for item in listed] == [first.json()["ticket_id"]]
    wait_for_mail(system, f"copia-{run}@example.org")
    time.sleep(2)  # a second set of mails, were there one, would be on its way by now
    assert len(system.mails_to(f"copia-{run}@example.org")) == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(system):
    run = uuid.uuid4().hex[:8]
    customer = as_user(system, "cliente@demo.example")
    key = {"Idempotency-Key": f"open-{run}"}
    assert customer.call("POST", "/api/v1/tickets", opening(run), headers=key).status_code == 201
    other = customer.call("POST", "/api/v1/tickets", {**opening(run), "title": "Otra cosa"}, headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "idempotency_key_reused"
    assert other.json()["field_codes"] == {"Idempotency-Key": ["idempotency_key_reused"]}


def test_a_malformed_key_is_refused_naming_the_header(system):
    customer = as_user(system, "cliente@demo.example")
    for bad in ["", "x" * 201, "clave\u00f1"]:
        response = customer.call("POST", "/api/v1/tickets", opening("bad"),
                                 headers={"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field_codes"] == {"Idempotency-Key": ["idempotency_key_format"]}


def test_a_follow_up_repeated_with_one_key_appears_once_in_the_history(system):
    run = uuid.uuid4().hex[:8]
    customer = as_user(system, "cliente@demo.example")
    ticket_id = customer.call("POST", "/api/v1/tickets", opening(run)).json()["ticket_id"]
    key = {"Idempotency-Key": f"comment-{run}"}
    body = {"body": f"Sigue sin funcionar {run}"}
    first = customer.call("POST", f"/api/v1/tickets/{ticket_id}/comments", body, headers=key)
    again = customer.call("POST", f"/api/v1/tickets/{ticket_id}/comments", body, headers=key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    history = customer.call("GET", f"/api/v1/tickets/{ticket_id}").json()["history"]
    assert [entry.get("body") for entry in history].count(body["body"]) == 1
    without_key = customer.call("POST", f"/api/v1/tickets/{ticket_id}/comments", body)
    assert without_key.status_code == 200  # no key: a new key each time, so a new comment


def test_tickets_killed_mid_load_with_clients_retrying_by_key_leaves_every_ticket_once(system):
    """SIGKILL the tickets service while opens are in flight: the broker redelivers what it held,
    and clients retry every 503 (and every lost connection) with the same key and body."""
    import signal
    import threading

    import requests

    from helpdesk import testing

    run = uuid.uuid4().hex[:8]
    customer = as_user(system, "cliente@demo.example")
    clients, per_client = 6, 12
    answers, failures = {}, []

    def open_all(client):
        for n in range(per_client):
            title = f"Caída {run} {client}-{n}"
            body = {"department": "sales", "title": title, "description": "x"}
            deadline = time.monotonic() + 90
            while True:
                try:
                    response = customer.call("POST", "/api/v1/tickets", body,
                                             headers={"Idempotency-Key": f"{run}-{client}-{n}"})
                except requests.RequestException:
                    response = None
                if response is not None and response.status_code == 201:
                    answers[title] = response.json()["ticket_id"]
                    break
                if response is not None and response.status_code != 503:
                    failures.append((title, response.status_code, response.text))
                    break
                if time.monotonic() > deadline:
                    failures.append((title, "gave up"))
                    break
                time.sleep(0.3)

    threads = [threading.Thread(target=open_all, args=(client,)) for client in range(clients)]
    for thread in threads:
        thread.start()
    testing.wait_until(lambda: len(answers) >= 5, timeout=30)
    system.signal("tickets", signal.SIGKILL)
    system.restart("tickets")
    for thread in threads:
        thread.join(timeout=180)
    assert not failures, failures
    assert len(answers) == clients * per_client
    listed = []
    cursor = None
    while True:
        page = customer.call("GET", f"/api/v1/tickets?text={run}&limit=100" + (f"&cursor={cursor}" if cursor else "")).json()
        listed += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    by_title = {}
    for item in listed:
        by_title.setdefault(item["title"], []).append(item["ticket_id"])
    assert {title: ids for title, ids in by_title.items() if len(ids) != 1} == {}
    assert {title: ids[0] for title, ids in by_title.items()} == answers
