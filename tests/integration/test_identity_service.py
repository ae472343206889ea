"""The identity service's entrypoints on a real database (nameko's worker_factory, real store)."""
import pytest
from nameko.testing.services import worker_factory

from helpdesk import catalog, errors
from helpdesk.events import utcnow
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from services.identity import passwords
from services.identity.bootstrap import bootstrap
from services.identity.service import IdentityService

CONFIG = {"LINK_SECRET": "integration-test-link-secret", "IDENTITY": {}}


@pytest.fixture(scope="module")
def identity(database_url, db):
    migrate_all(database_url, ["identity"])
    store = PostgresEventStore(db, "identity")
    return worker_factory(IdentityService, store=store, config=CONFIG,
                          app=bootstrap(CONFIG, catalog.load(), utcnow, store, db))


@pytest.fixture
def hashed(monkeypatch):
    """Records which hashes `passwords.verify` was asked to check (and still checks them)."""
    seen = []
    real = passwords.verify

    def spy(password_hash, password):
        seen.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify", spy)
    return seen


def test_a_login_for_an_unknown_address_still_pays_the_hash_cost(identity, hashed):
    with pytest.raises(errors.Unauthorized):
        identity.login({"email": "nobody-at-all@example.com", "password": "whatever it is"}, "10.9.9.1")
    assert hashed == [passwords.DUMMY_HASH]


def test_a_wrong_password_is_checked_against_the_real_hash(identity, hashed):
    identity.register({"email": "known-user@example.com", "password": "the right long secret",
                       "name": "Known"}, "10.9.9.2")
    with pytest.raises(errors.Unauthorized) as wrong:
        identity.login({"email": "known-user@example.com", "password": "not the secret"}, "10.9.9.2")
    with pytest.raises(errors.Unauthorized) as unknown:
        identity.login({"email": "unknown-user@example.com", "password": "not the secret"}, "10.9.9.2")
    assert str(wrong.value) == str(unknown.value)
    assert len(hashed) == 2 and hashed[0].startswith("$argon2id$") and hashed[0] != passwords.DUMMY_HASH
    assert hashed[1] == passwords.DUMMY_HASH


def test_password_hashes_use_argon2id_at_owasp_parameters():
    encoded = passwords.hash_password("some long secret")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify(encoded, "some long secret") and not passwords.verify(encoded, "other")


# -- finding 6: links die with what they protect -----------------------------------------------

PASSWORD = "the right long secret"


def mailed_links(identity, email):
    """The tokens of every link identity announced for `email`, derived as the notifier does."""
    from helpdesk.linktokens import LinkTokens
    from services.identity import repository
    from services.identity.handlers import LINK_EVENTS

    tokens = LinkTokens(CONFIG["LINK_SECRET"])
    with identity.store.db.transaction() as cur:
        user_id = repository.user_id_by_email(cur, email)
    events = identity.store.read_stream(f"user-{user_id}")
    return [tokens.derive(LINK_EVENTS[e.type], e.data["user_id"], e.data["nonce"])
            for e in events if e.type in LINK_EVENTS]


def verified_account(identity, label):
    """A verified account with a spare verification link still outstanding (asked for twice)."""
    import uuid

    email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
    identity.register({"email": email, "password": PASSWORD, "name": "Ana"}, "10.8.0.1")
    identity.resend_verification({"email": email}, "10.8.0.1")
    first, spare = mailed_links(identity, email)
    session = identity.verify_email({"token": first}, "10.8.0.1")["session"]
    return email, session["user"], spare


def outstanding_link(identity, kind, email, principal, spare_verification):
    if kind == "verification":
        return spare_verification
    before = set(mailed_links(identity, email))
    if kind == "reset":
        identity.forgot_password({"email": email}, "10.8.0.2")
    else:  # an email change to an address the user then gives up
        identity.request_email_change(principal, {"new_email": f"abandoned-{email}", "password": PASSWORD})
    (link,) = set(mailed_links(identity, email)) - before
    return link


def change(identity, kind, email, principal):
    before = set(mailed_links(identity, email))
    if kind == "email change":
        identity.request_email_change(principal, {"new_email": f"moved-{email}", "password": PASSWORD})
        (link,) = set(mailed_links(identity, email)) - before
        identity.verify_email({"token": link})
    elif kind == "password change":
        identity.change_password(principal, {"current_password": PASSWORD, "new_password": "a brand new long secret"})
    else:  # a reset through another link
        identity.forgot_password({"email": email}, "10.8.0.3")
        (link,) = set(mailed_links(identity, email)) - before
        identity.reset_password({"token": link, "password": "a brand new long secret"})


@pytest.mark.parametrize("change_kind", ["email change", "password change", "reset"])
@pytest.mark.parametrize("link_kind", ["verification", "reset", "email change"])
def test_every_outstanding_link_dies_with_a_change_of_email_or_password(identity, link_kind, change_kind):
    email, principal, spare = verified_account(identity, "links")
    link = outstanding_link(identity, link_kind, email, principal, spare)
    change(identity, change_kind, email, principal)
    use = identity.reset_password if link_kind == "reset" else identity.verify_email
    body = {"token": link, "password": "yet another long secret"} if link_kind == "reset" else {"token": link}
    with pytest.raises(errors.InvalidInput) as refused:
        use(body)
    assert "link_invalid_or_used" in str(refused.value)


def test_a_link_survives_what_changes_neither_email_nor_password(identity):
    email, principal, _ = verified_account(identity, "keeps")
    link = outstanding_link(identity, "reset", email, principal, None)
    identity.update_profile(principal, {"name": "Ana María"})
    assert identity.reset_password({"token": link, "password": "a brand new long secret"}) == {"changed": True}


def test_an_attempt_is_counted_before_its_password_is_checked(identity, database_url, monkeypatch):
    """So attempts sent at once cannot all pass the throttle before the first one is counted."""
    import psycopg2

    from helpdesk.linktokens import digest

    seen = []
    real = passwords.verify

    def counting(password_hash, password):
        conn = psycopg2.connect(database_url)  # another session: what concurrent attempts see
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM identity.login_failures WHERE account = %s",
                            (digest("counted-early@example.com"),))
                seen.append(cur.fetchone()[0])
        finally:
            conn.close()
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify", counting)
    with pytest.raises(errors.Unauthorized):
        identity.login({"email": "counted-early@example.com", "password": "some guess here"}, "10.7.0.1")
    assert seen == [1]


def test_old_throttle_counts_and_failed_logins_are_pruned_and_recent_ones_kept(identity, db):
    """Issue 11, review: nothing ever deleted them, so the tables grew with every attempt."""
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    with db.transaction() as cur:
        for age in (dt.timedelta(days=2), dt.timedelta(minutes=5)):
            cur.execute("INSERT INTO identity.throttle (key, at) VALUES ('prune-test', %s)", (now - age,))
            cur.execute("INSERT INTO identity.login_failures (account, client, at) VALUES ('prune-test', '10.9.9.9', %s)",
                        (now - age,))
    assert identity.prune() >= 2
    with db.transaction() as cur:
        cur.execute("SELECT count(*) FROM identity.throttle WHERE key = 'prune-test'")
        throttle = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM identity.login_failures WHERE account = 'prune-test'")
        failures = cur.fetchone()[0]
    assert (throttle, failures) == (1, 1)  # the recent ones: still read by their windows
