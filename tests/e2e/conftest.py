"""The whole system as `make run` starts it: every service a `nameko run` process, the dev SMTP
server keeping mail as files, a database and a RabbitMQ vhost of its own."""
import pytest

from helpdesk.testing import RunningSystem


@pytest.fixture(scope="session")
def system(database_url, rabbit, tmp_path_factory):
    try:
        running = RunningSystem(database_url, rabbit, tmp_path_factory.mktemp("system")).start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield running
    running.stop()
