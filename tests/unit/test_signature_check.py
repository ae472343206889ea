"""Entrypoints check a call's arguments against a signature worked out once
(helpdesk.extensions.SignatureCheckedOnce), refusing what nameko's own check refuses."""
import types

import pytest
from nameko.exceptions import IncorrectSignature

from helpdesk.extensions import SignatureCheckedOnce


class Service:
    def open(self, principal, command, *, language="es"):
        return principal, command, language


def entrypoint(method_name="open"):
    checked = SignatureCheckedOnce()
    checked.container = types.SimpleNamespace(service_cls=Service)
    checked.method_name = method_name
    return checked


@pytest.mark.parametrize("args, kwargs", [((1, 2), {}), ((1,), {"command": 2}), ((1, 2), {"language": "en"})])
def test_calls_the_method_accepts_pass(args, kwargs):
    entrypoint().check_signature(args, kwargs)


@pytest.mark.parametrize("args, kwargs", [((1,), {}), ((1, 2, 3), {}), ((1, 2), {"colour": "red"})])
def test_calls_the_method_refuses_are_incorrect_signatures(args, kwargs):
    with pytest.raises(IncorrectSignature):
        entrypoint().check_signature(args, kwargs)


def test_the_signature_is_worked_out_once(monkeypatch):
    checked = entrypoint()
    checked.check_signature((1, 2), {})
    monkeypatch.setattr("inspect.signature", lambda *a, **k: pytest.fail("worked out again"))
    checked.check_signature((3, 4), {})
    with pytest.raises(IncorrectSignature):
        checked.check_signature((), {})
