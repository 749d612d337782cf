"""Digest rules without I/O: addresses (hostile ones too), options, send periods, composing."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import date, datetime, timezone

import pytest

from paperboy.email.compose import compose_confirmation, compose_digest, message_bytes
from paperboy.models import Paper
from paperboy.service.digest_model import (
    Digest,
    DigestError,
    DigestItem,
    DigestSection,
    InvalidAddress,
    Options,
    Subscription,
    display_address,
    normalize_address,
    period_slot,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Reader@Example.ORG", "reader@example.org"),
        ("  reader@example.org  ", "reader@example.org"),
        ("first.last+digest@sub.example.co.uk", "first.last+digest@sub.example.co.uk"),
        ("user@bücher.example", "user@xn--bcher-kva.example"),
        ("user@例え.テスト", "user@xn--r8jz45g.xn--zckzah"),
    ],
)
def test_valid_addresses_normalise_to_ascii(raw, expected):
    assert normalize_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "reader@example.org\r\nBcc: victim@example.org",  # header injection
        "reader@example.org\nSubject: hi",
        "reader@example.org\x00",
        "reader@exa mple.org",
        "a" * 990 + "@example.org",  # 1,002 characters
        "reader@" + "a" * 250 + ".org",
        ("x" * 64 + "@" + ".".join(["d" * 60] * 4) + ".org"),  # every part fine, the whole too long
        "no-at-sign.example.org",
        "two@@example.org",
        "a@b@example.org",
        ".dot@example.org",
        "dot.@example.org",
        "do..t@example.org",
        "user@localhost",
        "user@-bad-.example",
        "user@example.123",
        "üser@example.org",  # non-ASCII local part needs SMTPUTF8, which we do not use
        "",
        "   ",
    ],
)
def test_hostile_or_invalid_addresses_are_refused_with_a_clear_message(raw):
    started = time.perf_counter()
    with pytest.raises(InvalidAddress) as err:
        normalize_address(raw)
    assert time.perf_counter() - started < 0.1
    assert 10 < len(str(err.value)) < 200 and "\n" not in str(err.value)


def test_unicode_domain_is_shown_in_unicode_again():
    assert display_address("user@xn--bcher-kva.example") == "user@bücher.example"


def test_options_are_validated():
    assert Options(timezone="Europe/Berlin", categories=("cs.CL", "cs.CL", " cs.CV ")).validated().categories == (
        "cs.CL",
        "cs.CV",
    )
    for bad in (
        Options(frequency="hourly"),
        Options(send_hour=24),
        Options(timezone="Mars/Olympus"),
        Options(timezone="../../etc/passwd"),
        Options(categories=("<script>",)),
        Options(authors=("a\x07b",)),
        Options(authors=("x" * 201,)),
        Options(categories=tuple(f"cs.X{chr(65 + i % 26)}" for i in range(30))),
    ):
        with pytest.raises(DigestError):
            bad.validated()
    assert Options(authors=("Ada\r\nLovelace",)).validated().authors == ("Ada Lovelace",)  # line breaks folded
    o = Options(frequency="weekly", weekday=2, categories=("cs.CL",), authors=("Ada Lovelace",))
    assert Options.from_json(o.to_json()) == o


def _utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def test_daily_period_is_the_local_day_of_the_newest_slot():
    berlin = Options(send_hour=8, timezone="Europe/Berlin")
    # 06:30 UTC is 07:30 in Berlin (winter): today's 08:00 slot has not come, so yesterday's is current.
    assert period_slot(berlin, _utc(2026, 11, 26, 6, 30)) == ("2026-11-25", _utc(2026, 11, 25, 7, 0))
    assert period_slot(berlin, _utc(2026, 11, 26, 7, 0)) == ("2026-11-26", _utc(2026, 11, 26, 7, 0))
    tokyo = Options(send_hour=8, timezone="Asia/Tokyo")
    assert period_slot(tokyo, _utc(2026, 11, 26, 23, 30))[0] == "2026-11-27"


def test_weekly_period_is_the_iso_week_of_the_chosen_day():
    monday8 = Options(frequency="weekly", weekday=0, send_hour=8)
    assert period_slot(monday8, _utc(2026, 11, 26, 12))[0] == "2026-W48"  # Thursday of week 48
    assert period_slot(monday8, _utc(2026, 11, 30, 7))[0] == "2026-W48"  # next Monday, before 08:00
    assert period_slot(monday8, _utc(2026, 11, 30, 8))[0] == "2026-W49"


def _digest(address: str = "reader@xn--bcher-kva.example") -> Digest:
    sub = Subscription(7, address, None, "active", Options())
    p = Paper(
        title='A <b>bold</b> "title"',
        abstract="We & they " * 80,
        authors=["Ada", "Alan"],
        categories=["cs.CL"],
        arxiv_id="2607.00001",
        id="2607.00001",
    ).with_defaults()
    return Digest(
        sub,
        "2026-11-26",
        date(2026, 7, 1),
        date(2026, 7, 1),
        [DigestSection("trending", "Trending", [DigestItem(p, "new today", "trending")])],
    )


def test_digest_message_is_multipart_with_one_click_unsubscribe_and_inlined_css():
    unsub = "http://testserver/digest/unsubscribe/" + "T" * 150
    msg = compose_digest(
        _digest(),
        mail_from="paperboy <digest@paperboy.test>",
        base_url="http://testserver/",
        unsubscribe_url=unsub,
        message_id="<digest.7.2026-11-26@paperboy.test>",
        date=_utc(2026, 11, 26, 8),
    )
    raw = message_bytes(msg)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{unsub}>"  # one line: never folded into encoded words
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Message-ID"] == "<digest.7.2026-11-26@paperboy.test>"
    assert parsed["To"] == "reader@xn--bcher-kva.example"
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "http://testserver/papers/2607.00001" in text and unsub in text
    assert 'href="http://testserver/papers/2607.00001"' in html and f'href="{unsub}"' in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html  # paper text is escaped
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_a_header_injection_that_slipped_through_still_cannot_add_headers():
    with pytest.raises(ValueError):
        compose_digest(
            _digest("reader@example.org\r\nBcc: victim@example.org"),
            mail_from="a <a@b.test>",
            base_url="http://x",
            unsubscribe_url="http://x/u",
            message_id="<m@b.test>",
            date=_utc(2026, 1, 1),
        )


def test_confirmation_message_carries_the_link_in_both_parts():
    link = "http://testserver/digest/confirm/abc.def-ghi_jkl"
    msg = compose_confirmation(
        "reader@example.org",
        Options(),
        confirm_url=link,
        mail_from="p <p@b.test>",
        base_url="http://testserver",
        message_id="<c@b.test>",
        date=_utc(2026, 1, 1),
        valid_hours=48,
    )
    assert link in msg.get_body(("plain",)).get_content()
    assert f'href="{link}"' in msg.get_body(("html",)).get_content()
    assert msg["List-Unsubscribe"] is None  # not a list yet: nothing to leave


def test_email_links_use_the_web_apps_paper_paths():
    from paperboy.email.compose import paper_path
    from paperboy.web.urls import paper_url

    for pid in ("2607.00001", "hep-th/9901001", "pb-0123456789abcdef", "math.GT/0309136"):
        p = Paper(title="t", id=pid)
        assert paper_path(p) == paper_url(p)
