"""The identity service's entrypoints on a real database (nameko's worker_factory, real store)."""
import pytest
from nameko.testing.services import worker_factory

from helpdesk import catalog, errors
from helpdesk.eventstore import PostgresEventStore
from helpdesk.migrate import migrate_all
from services.identity import passwords
from services.identity.service import IdentityService

CONFIG = {"LINK_SECRET": "integration-test-link-secret", "IDENTITY": {}}


@pytest.fixture(scope="module")
def identity(database_url, db):
    migrate_all(database_url, ["identity"])
    return worker_factory(IdentityService, store=PostgresEventStore(db, "identity"), config=CONFIG,
                          catalog=catalog.load())


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
