"""The console's canned replies (services/gateway/canned.py): the provider's file is checked as the
gateway starts, and each department gets its own replies, then everyone's."""
import pytest

from helpdesk import catalog
from services.gateway.canned import BadReplies, CannedReplies

DEPARTMENTS = {"networks", "billing"}


def reply(code, **languages):
    texts = languages or {"es": "Hola", "en": "Hello"}
    return {"code": code, "title": dict(texts), "body": dict(texts)}


def test_the_shipped_file_loads_and_offers_a_departments_replies_before_everyones():
    replies = CannedReplies.load({}, catalog.load().departments)
    networks = [r["code"] for r in replies.of("networks")]
    assert networks[:2] == ["restart_router", "line_test"] and "greeting_received" in networks
    assert [r["code"] for r in replies.of("sales")] == [r["code"] for r in replies.common]
    assert all(set(r["title"]) == set(r["body"]) == {"es", "en"} for r in replies.of("networks"))


@pytest.mark.parametrize("raw,problem", [
    ({"departments": {"legal": [reply("a")]}}, "unknown departments ['legal']"),
    ({"all": [reply("a"), reply("a")]}, "a code of its own"),
    ({"all": [{"title": {"es": "x", "en": "y"}, "body": {"es": "x", "en": "y"}}]}, "a code of its own"),
    ({"departments": {"networks": [reply("a", es="Hola")]}}, "networks: a: title lacks en"),
    ({"all": [{"code": "a", "title": {"es": "x", "en": "y"}, "body": {"es": " ", "en": "y"}}]}, "body lacks es"),
])
def test_a_file_with_an_unknown_department_or_a_missing_language_is_refused_naming_it(raw, problem):
    with pytest.raises(BadReplies, match=problem.replace("[", r"\[").replace("]", r"\]")):
        CannedReplies.from_dict(raw, DEPARTMENTS)
