"""What an inbound mail proves about its sender (services/notifier/mail_trust.py): only the
topmost Authentication-Results of the MTA we trust counts, and only for the From domain."""
import pytest

from services.notifier import replies
from services.notifier.mail_trust import aligned, verdict

MTA = "mx.provider.example"
FROM = "Ana <ana@demo.example>"


@pytest.mark.parametrize("header, because", [
    (f"{MTA}; dmarc=pass (p=reject) header.from=demo.example", "dmarc=pass"),
    (f"{MTA} 1; dmarc=pass header.from=DEMO.example", "dmarc=pass"),  # a version; case
    (f"{MTA}; dkim=pass header.d=demo.example header.i=@demo.example; spf=fail smtp.mailfrom=x@evil.example",
     "dkim=pass, aligned"),
    (f"{MTA}; dkim=pass header.d=mail.demo.example", "dkim=pass, aligned"),  # relaxed alignment
    (f"{MTA}; spf=pass smtp.mailfrom=bounces@demo.example", "spf=pass, aligned"),
    (f"{MTA.upper()};\r\n\tdmarc=pass\r\n\theader.from=demo.example", "dmarc=pass"),  # folded
])
def test_a_pass_for_the_from_domain_from_our_mta_authenticates(header, because):
    found = verdict([header], FROM, MTA)
    assert found.authenticated and found.because == because


@pytest.mark.parametrize("headers", [
    [],
    [f"{MTA}; none"],
    ["mx.attacker.example; dmarc=pass header.from=demo.example"],  # not our MTA's
    [f"{MTA}; dmarc=pass header.from=evil.example"],  # another domain's pass
    [f"{MTA}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example"],  # not aligned
    [f"{MTA}; dkim=pass header.d=example"],  # a bare suffix aligns nothing
    [f"{MTA}; dkim=fail header.d=demo.example; spf=softfail smtp.mailfrom=demo.example"],
    [f"{MTA}; dkim=neutral header.d=demo.example"],
    [f"{MTA};;; not a header", f"{MTA}; dmarc=pass header.from=demo.example"],  # ours unreadable: no later one
    # ours is the topmost (an MTA prepends); a lower copy is what the sender wrote
    [f"{MTA}; spf=none smtp.mailfrom=demo.example", f"{MTA}; dmarc=pass header.from=demo.example"],
])
def test_anything_else_is_unauthenticated(headers):
    found = verdict(headers, FROM, MTA)
    assert not found.authenticated and not found.failed


def test_a_dmarc_failure_is_a_failure_even_with_an_aligned_pass_beside_it():
    found = verdict([f"{MTA}; dmarc=fail header.from=demo.example; spf=pass smtp.mailfrom=demo.example"], FROM, MTA)
    assert found.failed and not found.authenticated


def test_without_a_configured_mta_nothing_is_authenticated():
    for trusted in (None, ""):
        assert not verdict([f"{MTA}; dmarc=pass header.from=demo.example"], FROM, trusted).authenticated
    assert not verdict([f"{MTA}; dmarc=pass header.from=demo.example"], "", MTA).authenticated


def test_alignment():
    assert aligned("demo.example", "demo.example")
    assert aligned("mail.demo.example", "demo.example") and aligned("demo.example", "eu.demo.example")
    assert not aligned("ademo.example", "demo.example")
    assert not aligned("example", "demo.example") and not aligned("", "demo.example")


def test_parse_keeps_every_authentication_results_header_topmost_first():
    raw = (f"Authentication-Results: {MTA}; dmarc=pass header.from=demo.example\r\n"
           "Authentication-Results: other.example; spf=fail\r\n"
           "From: ana@demo.example\r\nTo: reply@replies.helpdesk.local\r\nSubject: hola\r\n\r\nhola\r\n").encode()
    mail = replies.parse(raw, "ana@demo.example", ["reply@replies.helpdesk.local"])
    assert mail.authentication_results == (f"{MTA}; dmarc=pass header.from=demo.example", "other.example; spf=fail")
    assert verdict(mail.authentication_results, mail.sender, MTA).authenticated
