"""Remembered answers of idempotent commands: recalled within the retention, replaced and purged
after it."""
import uuid

import pytest

from helpdesk.migrate import migrate_all
from services.tickets import answers


@pytest.fixture(scope="module", autouse=True)
def tickets_schema(database_url):
    migrate_all(database_url, ["tickets"])


def test_an_answer_is_recalled_then_forgotten_after_the_retention(db):
    user, key = str(uuid.uuid4()), "k1"
    with db.transaction() as cur:
        assert answers.recall(cur, user, key) is None
        answers.remember(cur, user, key, "f1", {"ticket_id": "t", "version": 0})
    with db.transaction() as cur:
        assert answers.recall(cur, user, key) == ("f1", {"ticket_id": "t", "version": 0})
        cur.execute("UPDATE tickets.remembered_answers SET remembered_at = now() - interval '25 hours'"
                    " WHERE user_id = %s", (user,))
    with db.transaction() as cur:
        assert answers.recall(cur, user, key) is None  # expired: the lookup does not see it
        answers.remember(cur, user, key, "f2", {"other": True})  # and the key may be used again
        assert answers.recall(cur, user, key) == ("f2", {"other": True})
        cur.execute("UPDATE tickets.remembered_answers SET remembered_at = now() - interval '25 hours'"
                    " WHERE user_id = %s", (user,))
        assert answers.forget_expired(cur) >= 1
        cur.execute("SELECT count(*) FROM tickets.remembered_answers WHERE user_id = %s", (user,))
        assert cur.fetchone()[0] == 0
