"""The whole system in one process (services/system.py): the real HTTP API, identity, tickets and
routing on in-memory stores. A module gets a system of its own, seeded as `make run` seeds."""
import pytest

from services.identity.seed import DEMO_PASSWORD
from services.system import System

_addresses = iter(range(1, 1 << 24))


@pytest.fixture(scope="module")
def system():
    return System()


def client(system):
    """A client speaking from an address of its own, so per-IP throttles of one test never touch another."""
    n = next(_addresses)
    return system.client(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")


@pytest.fixture
def api(system):
    return client(system)


def as_user(system, email, password=DEMO_PASSWORD):
    return client(system).login(email, password)
