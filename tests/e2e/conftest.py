"""The whole system as `make run` starts it: every service a `nameko run` process, the dev SMTP
server keeping mail as files, a database and a RabbitMQ vhost of its own, and the seed data."""
import contextlib
import itertools
import re

import pytest
import requests

from helpdesk import testing
from helpdesk.testing import RunningSystem
from services.identity.seed import DEMO_PASSWORD

_addresses = itertools.count(1)


@pytest.fixture(scope="session")
def system(database_url, rabbit, tmp_path_factory):
    try:
        running = RunningSystem(database_url, rabbit, tmp_path_factory.mktemp("system")).start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield running
    running.stop()


@contextlib.contextmanager
def system_of_its_own(rabbit, workdir, extra_env):
    """A whole system on a database and vhost of its own, for tests that need other settings
    (tight limits, second-long SLA targets) than the session's shared one."""
    from ..conftest import setting

    admin_url = setting("DATABASE_URL")
    database_url = testing.create_database(admin_url)
    system = RunningSystem(database_url, rabbit, workdir, extra_env=extra_env)
    try:
        system.start()
        yield system
    finally:
        system.stop()
        testing.drop_database(admin_url, database_url)


class Api:
    """A client of the HTTP API. Each instance speaks from its own client address (through the
    trusted-proxy header), so per-IP throttles of one test never touch another."""

    def __init__(self, system, token=None):
        self.system, self.token = system, token
        self.ip = f"10.{next(_addresses) // 250 % 250}.{next(_addresses) % 250}.{next(_addresses) % 250}"

    def call(self, method, path, body=None, token=None, headers=None):
        headers, data = testing.api_request(self.ip, token if token is not None else self.token, body, headers)
        return requests.request(method, self.system.url(path), data=data, headers=headers, timeout=20)

    def login(self, email, password=DEMO_PASSWORD):
        response = self.call("POST", "/api/v1/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        return self


@pytest.fixture
def api(system):
    return Api(system)


def as_user(system, email, password=DEMO_PASSWORD):
    return Api(system).login(email, password)


def wait_for_mail(system, address, count=1, timeout=15):
    mails = testing.wait_until(lambda: len(system.mails_to(address)) >= count and system.mails_to(address),
                               timeout=timeout)
    assert mails, f"no mail for {address}:\n{system.log_tail()}"
    return mails


def link_token(mail):
    """The token of the link in a mail (it travels in the URL fragment)."""
    text = mail.get_body(("plain",)).get_content()
    match = re.search(r"#token=([A-Za-z0-9_\-.]+)", text)
    assert match, text
    return match.group(1)
