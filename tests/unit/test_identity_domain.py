"""Identity decisions: pure."""
import datetime as dt
import uuid

import pytest

from services.identity import domain

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("password,problem", [
    ("short", ("password_too_short", {"min": 8})),
    ("x" * 129, ("password_too_long", {"max": 128})),
    ("password1", ("password_too_common", {})),
    ("qwertyuiop", ("password_too_common", {})),
    ("ana.garcia", ("password_is_email", {})),
    ("correct horse battery staple", None),
    ("ñandú-pingüino", None),
    ("12345678abcdefgh", None),  # no composition rules
])
def test_password_policy(password, problem):
    assert domain.password_problem(password, "ana.garcia@example.com") == problem


def registered(**overrides):
    command = {"email": "ana@example.com", "password": "a long enough secret", "name": "Ana",
               "language": "en"}
    command.update(overrides)
    user_id = uuid.uuid4()
    events = domain.register(user_id, command, NOW, "nonce", dt.timedelta(hours=48))
    return user_id, events


def recorded(events):
    from helpdesk.events import RecordedEvent

    return [RecordedEvent(event_id=e.event_id, type=e.type, schema_version=1, stream="user-1",
                          stream_position=i, global_position=i + 1, occurred_at=NOW, data=e.data)
            for i, e in enumerate(events)]


def test_registration_makes_an_unverified_customer_and_asks_for_verification():
    user_id, events = registered()
    assert [e.type for e in events] == ["UserRegistered", "EmailVerificationRequested"]
    assert "password" not in events[0].data and "a long enough secret" not in repr(events)
    user = domain.fold(recorded(events))
    assert user.role == "customer" and not user.verified and user.language == "en"
    assert events[1].data["expires_at"] == (NOW + dt.timedelta(hours=48)).isoformat()


def test_registration_refuses_a_common_password():
    with pytest.raises(domain.RuleBroken) as info:
        registered(password="iloveyou")
    assert (info.value.field, info.value.code) == ("password", "password_too_common")


def test_verifying_the_current_address_verifies_once_and_a_new_address_changes_it():
    _, events = registered()
    user = domain.fold(recorded(events))
    (verified,) = domain.verify_email(user, "ANA@example.com")
    assert verified.type == "EmailVerified"
    user = domain.fold(recorded(events + [verified]))
    assert user.verified and domain.verify_email(user, "ana@example.com") == []
    (changed,) = domain.verify_email(user, "new@example.com")
    assert changed.type == "EmailChanged" and changed.data["old_email"] == "ana@example.com"


def test_staff_created_accounts_must_change_their_password_first():
    command = {"email": "bob@example.com", "name": "Bob", "role": "agent", "departments": ["networks"]}
    events = domain.create_user(uuid.uuid4(), command, "nonce", actor="admin-1")
    assert [e.type for e in events] == ["UserRegistered", "InitialCredentialsIssued"]
    user = domain.fold(recorded(events))
    assert user.must_change_password and user.verified and user.departments == ("networks",)
    changed = domain.change_password(user, "a brand new secret", "first_login")
    assert not domain.fold(recorded(events + changed)).must_change_password


@pytest.mark.parametrize("command,field", [
    ({"role": "customer"}, "company_id"),
    ({"role": "agent"}, "departments"),
    ({"role": "supervisor", "departments": ["networks"]}, "departments"),
    ({"role": "admin", "is_group": True}, "role"),
])
def test_staff_created_account_rules(command, field):
    with pytest.raises(domain.RuleBroken) as info:
        domain.create_user(uuid.uuid4(), dict({"email": "x@example.com", "name": "X"}, **command), "n", "a")
    assert info.value.field == field


def test_throttle_blocks_at_the_limit_until_the_oldest_failure_leaves_the_window():
    window = dt.timedelta(minutes=15)
    failures = [NOW - dt.timedelta(minutes=m) for m in (14, 10, 5, 1)]
    assert domain.retry_after(failures, NOW, limit=5, window=window) is None
    wait = domain.retry_after(failures, NOW, limit=4, window=window)
    assert wait == 61  # the failure 14 minutes ago leaves the window in 60 s
    old = [NOW - dt.timedelta(minutes=20)] * 10
    assert domain.retry_after(old, NOW, limit=4, window=window) is None


# -- login throttling (OWASP ASVS 5, NIST SP 800-63B): slow the failing clients, never the owner --

POLICY = domain.LoginPolicy(free_failures=5, first_delay=dt.timedelta(seconds=1),
                            max_delay=dt.timedelta(minutes=15), window=dt.timedelta(hours=1),
                            failures_per_ip=100, ip_window=dt.timedelta(minutes=15))


def seconds_ago(*seconds):
    return [NOW - dt.timedelta(seconds=s) for s in seconds]


def test_the_delay_doubles_after_the_free_failures_up_to_the_cap():
    assert [POLICY.delay(n).total_seconds() for n in range(4, 10)] == [0, 1, 2, 4, 8, 16]
    assert POLICY.delay(15) == POLICY.delay(10_000) == dt.timedelta(minutes=15)


def test_a_failing_client_waits_out_the_delay_since_the_accounts_last_failure():
    failures = seconds_ago(40, 30, 20, 10, 0.5, 0.2)  # six failures: the next waits 2 s after the last
    wait = domain.login_retry_after(POLICY, NOW, account_failures=failures, client_failures=failures[-1:],
                                    ip_failures=failures)
    assert wait == 2
    later = NOW + dt.timedelta(seconds=2)
    assert domain.login_retry_after(POLICY, later, failures, failures[-1:], failures) is None


def test_a_clean_client_is_never_slowed_by_the_accounts_failures():
    attacked = seconds_ago(*range(0, 40, 2))  # twenty failures from elsewhere
    assert domain.login_retry_after(POLICY, NOW, account_failures=attacked, client_failures=[],
                                    ip_failures=[]) is None


def test_failures_older_than_the_window_are_forgotten():
    old = seconds_ago(*range(3700, 3800, 10))
    assert domain.login_retry_after(POLICY, NOW, old, old, old) is None


def test_the_address_limit_counts_failures_of_every_account_and_is_far_above_a_nats_typos():
    office = seconds_ago(*range(30))  # thirty colleagues, one typo each
    assert domain.login_retry_after(POLICY, NOW, [], [], ip_failures=office) is None
    stuffing = seconds_ago(*range(100))  # one failure on each of a hundred accounts
    assert domain.login_retry_after(POLICY, NOW, [], [], ip_failures=stuffing) == 15 * 60 - 99 + 1  # till the oldest leaves


# -- the services a customer has contracted (announcements for chosen services) ----------------

def customer(**overrides):
    command = dict({"email": "pepa@example.com", "name": "Pepa", "role": "customer", "company_id": "c-1"}, **overrides)
    events = domain.create_user(uuid.uuid4(), command, "nonce", actor="admin-1")
    return events, domain.fold(recorded(events))


def test_staff_may_give_a_new_customer_services_which_the_principal_carries():
    events, user = customer(services=["hosting", "email", "hosting"])
    assert events[0].data["services"] == ["email", "hosting"]  # sorted, once each
    assert user.services == ("email", "hosting") and user.principal()["services"] == ["email", "hosting"]
    assert customer()[1].principal()["services"] == []


def test_an_old_registration_without_services_folds_to_none():
    events, _ = customer(services=["email"])
    del events[0].data["services"]  # as UserRegistered was recorded before customers had services
    user = domain.fold(recorded(events))
    assert user.services == () and user.principal()["services"] == []


def test_a_customers_services_change_once_and_are_folded_from_the_event():
    events, user = customer(services=["email"])
    (changed,) = domain.change_services(user, ["internet_access", "email"], actor="admin-1")
    assert changed.type == "CustomerServicesChanged" and changed.actor == "admin-1"
    assert changed.data == {"user_id": str(user.user_id), "services": ["email", "internet_access"]}
    user = domain.fold(recorded(events + [changed]))
    assert user.services == ("email", "internet_access")
    assert domain.change_services(user, ["internet_access", "email"], actor="admin-1") == []  # unchanged: nothing
    (ended,) = domain.change_services(user, [], actor="admin-1")  # a contract ended: no services
    assert domain.fold(recorded(events + [changed, ended])).services == ()


@pytest.mark.parametrize("command", [
    {"role": "agent", "departments": ["networks"]},
    {"role": "supervisor"},
    {"role": "admin"},
])
def test_only_customers_have_services(command):
    staff = dict({"email": "s@example.com", "name": "S"}, **command)
    with pytest.raises(domain.RuleBroken) as info:
        domain.create_user(uuid.uuid4(), dict(staff, services=["email"]), "n", "a")
    assert (info.value.field, info.value.code) == ("services", "only_customers_have_services")
    user = domain.fold(recorded(domain.create_user(uuid.uuid4(), staff, "n", "a")))
    with pytest.raises(domain.RuleBroken) as info:
        domain.change_services(user, ["email"], actor="a")
    assert (info.value.field, info.value.code) == ("services", "only_customers_have_services")
