"""Subscriptions and the outbox against a real SMTP server on 127.0.0.1: opt-in, retries, bounces, outages."""

from __future__ import annotations

import re
import socket

import pytest

from paperboy.email.send import SmtpSender, run_digests
from paperboy.service.digests import DigestError, Digests, InvalidToken, NotSubscribed, Options

from .conftest import SECRET, SmtpSink, email_settings, free_port

CONFIRM_RE = re.compile(r"http://testserver/digest/confirm/([A-Za-z0-9_.\-]+)")


def confirm_token(received) -> str:
    m = CONFIRM_RE.search(received.message.get_body(("plain",)).get_content())
    assert m, "no confirmation link in the email"
    return m.group(1)


def states(d: Digests, address: str) -> list[tuple[str, str]]:
    return [(r.kind, r.state) for r in d.outbox_of(address)]


def test_double_opt_in_then_one_digest_per_period(digests, sink):
    sub, _ = digests.subscribe("reader@example.org", Options(send_hour=0, categories=("cs.CV",)))
    assert sub.state == "pending"
    rep = run_digests(digests)
    assert rep.sent == 1 and rep.planned == 0  # only the confirmation: nothing else before opt-in
    [mail] = sink.wait_for("reader@example.org")
    assert mail.message["Subject"] == "Confirm your paperboy digest subscription"
    assert mail.message["List-Unsubscribe"] is None

    assert digests.confirm(confirm_token(mail)).state == "active"
    rep = run_digests(digests)
    assert (rep.planned, rep.sent) == (1, 1)
    digest = sink.wait_for("reader@example.org", 2)[1].message
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<digest\.\d+\.\d{4}-\d\d-\d\d@paperboy\.test>", digest["Message-ID"])
    assert "new in cs.CV" in digest.get_body(("plain",)).get_content()

    assert run_digests(digests).sent == 0  # same period again: nothing
    assert states(digests, "reader@example.org") == [("confirm", "sent"), ("digest", "sent")]


def test_the_next_period_sends_only_papers_not_sent_before(digests, sink, clock):
    digests.subscribe("reader@example.org", Options(send_hour=0), confirmed=True)
    run_digests(digests)
    clock.advance(days=1)
    run_digests(digests)
    first, second = [m.message for m in sink.wait_for("reader@example.org", 2)]
    links = [
        set(re.findall(r"http://testserver/papers/[\w.\-/]+", m.get_body(("plain",)).get_content()))
        for m in (first, second)
    ]
    assert links[0] and links[1] and not links[0] & links[1]


def test_temporary_failure_is_retried_after_backoff(digests, sink, clock):
    sink.behaviour.rcpt_replies["slow@example.org"] = ["451 4.3.0 mailbox busy, try later", "250 OK"]
    digests.subscribe("slow@example.org", Options(send_hour=0), confirmed=True)
    rep = run_digests(digests)
    assert (rep.sent, rep.retry) == (0, 1)
    [row] = digests.outbox_of("slow@example.org")
    assert row.state == "pending" and row.attempts == 1 and "451" in row.error
    assert run_digests(digests).sent == 0  # backoff not over yet
    clock.advance(minutes=6)
    assert run_digests(digests).sent == 1
    [row] = digests.outbox_of("slow@example.org")
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(sink.to("slow@example.org")) == 1


def test_permanent_failures_mark_the_address_bouncing(email_home, sink, clock):
    from paperboy.service import Paperboy

    pb = Paperboy(email_settings(email_home, sink.port, bounce_threshold=2))
    d = Digests(pb, secret=SECRET, clock=clock)
    sink.behaviour.rcpt_replies["gone@example.org"] = ["550 5.1.1 no such user"]
    d.subscribe("gone@example.org", Options(send_hour=0), confirmed=True)
    assert run_digests(d).failed == 1
    assert d.get("gone@example.org").state == "active" and d.get("gone@example.org").bounces == 1
    clock.advance(days=1)
    rep = run_digests(d)
    assert (rep.failed, rep.bouncing) == (1, 1)
    assert d.get("gone@example.org").state == "bouncing"
    clock.advance(days=1)
    assert run_digests(d).planned == 0  # no more digests to a bouncing address
    assert [r.state for r in d.outbox_of("gone@example.org")] == ["failed", "failed"]
    pb.close()


def test_smtp_server_down_loses_nothing(email_home, clock):
    from paperboy.service import Paperboy

    port = free_port()  # nothing listens here yet
    pb = Paperboy(email_settings(email_home, port))
    d = Digests(pb, secret=SECRET, clock=clock)
    for i in range(3):
        d.subscribe(f"r{i}@example.org", Options(send_hour=0), confirmed=True)
    rep = run_digests(d)
    assert rep.sent == 0 and "cannot reach SMTP server 127.0.0.1" in rep.aborted
    assert {r.state for i in range(3) for r in d.outbox_of(f"r{i}@example.org")} == {"pending"}
    with SmtpSink(port) as sink:
        clock.advance(minutes=10)
        rep = run_digests(d)
        assert rep.sent == 3 and rep.aborted is None
        assert all(len(sink.to(f"r{i}@example.org")) == 1 for i in range(3))
    pb.close()


def test_slow_smtp_server_times_out_and_the_retry_keeps_the_message_id(email_home, sink, clock):
    from paperboy.service import Paperboy

    pb = Paperboy(email_settings(email_home, sink.port, smtp_timeout=0.5))
    d = Digests(pb, secret=SECRET, clock=clock)
    d.subscribe("patient@example.org", Options(send_hour=0), confirmed=True)
    sink.behaviour.data_delay = 2.0
    rep = run_digests(d)
    assert rep.retry == 1 and rep.sent == 0
    assert "timed out" in d.outbox_of("patient@example.org")[0].error
    sink.behaviour.data_delay = 0.0
    clock.advance(minutes=10)
    assert run_digests(d).sent == 1
    # The slow server may have kept the first copy after all (the one case SMTP cannot rule out);
    # every copy carries the same Message-ID, so mail clients show one.
    got = sink.wait_for("patient@example.org")
    assert len({m.message["Message-ID"] for m in got}) == 1
    pb.close()


def test_a_row_left_sending_by_a_dead_run_is_sent_exactly_once(digests, sink, clock):
    digests.subscribe("crash@example.org", Options(send_hour=0), confirmed=True)
    digests.plan()
    [row_id] = digests.due_ids()
    dead = f"{socket.gethostname()}:999999999:deadbeef"  # a pid that cannot exist
    assert digests.claim(row_id, dead) is not None
    rep = run_digests(digests)
    assert (rep.recovered, rep.sent) == (1, 1)
    assert len(sink.to("crash@example.org")) == 1


def test_a_row_claimed_by_a_live_sender_waits_for_its_lease(digests, sink, clock):
    import os

    digests.subscribe("busy@example.org", Options(send_hour=0), confirmed=True)
    digests.plan()
    [row_id] = digests.due_ids()
    alive = f"{socket.gethostname()}:{os.getppid()}:other"  # e.g. another worker still sending it
    digests.claim(row_id, alive)
    assert run_digests(digests).sent == 0
    clock.advance(minutes=16)
    rep = run_digests(digests)
    assert (rep.recovered, rep.sent) == (1, 1)


def test_unicode_domains_are_delivered_in_idna(digests, sink):
    sub, _ = digests.subscribe("leser@bücher.example", Options(send_hour=0), confirmed=True)
    assert sub.email == "leser@xn--bcher-kva.example" and sub.display_email == "leser@bücher.example"
    run_digests(digests)
    [mail] = sink.wait_for("leser@xn--bcher-kva.example")
    assert mail.message["To"] == "leser@xn--bcher-kva.example"


def test_confirmation_links_expire_and_cannot_be_tampered_with(digests, sink, monkeypatch):
    from itsdangerous import TimestampSigner

    digests.subscribe("reader@example.org", Options(send_hour=0))
    run_digests(digests)
    token = confirm_token(sink.wait_for("reader@example.org")[0])
    for bad in (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), token[: len(token) // 2], "x" * 50, "a.b.c"):
        with pytest.raises(InvalidToken, match="not valid"):
            digests.confirm(bad)
    assert digests.get("reader@example.org").state == "pending"
    # A link from 49 hours ago (valid 48).
    sub = digests.get("reader@example.org")
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 49 * 3600)
    old = digests.confirm_url(sub, "0" * 16, Options()).rsplit("/", 1)[1]
    monkeypatch.undo()
    with pytest.raises(InvalidToken, match="expired"):
        digests.confirm(old)
    assert digests.confirm(token).state == "active"
    assert digests.confirm(token).state == "active"  # following the link twice is fine


def test_a_newer_confirmation_replaces_the_older_link(digests, sink):
    digests.subscribe("reader@example.org", Options(send_hour=0))
    run_digests(digests)
    digests.subscribe("reader@example.org", Options(send_hour=0, frequency="weekly"))
    run_digests(digests)
    first, second = (confirm_token(m) for m in sink.wait_for("reader@example.org", 2))
    with pytest.raises(InvalidToken, match="newer"):
        digests.confirm(first)
    assert digests.confirm(second).options.frequency == "weekly"


def test_subscribe_refuses_a_mail_bomb(digests):
    for _ in range(3):
        digests.subscribe("victim@example.org")
    with pytest.raises(DigestError, match="several confirmation emails"):
        digests.subscribe("victim@example.org")


def test_unsubscribe_links_and_unknown_addresses(digests, sink, clock):
    sub, _ = digests.subscribe("reader@example.org", Options(send_hour=0), confirmed=True)
    token = digests.unsubscribe_token(sub)
    tampered = token[:3] + ("A" if token[3] != "A" else "B") + token[4:]  # a payload character: never padding
    for bad in (tampered, "", "nonsense.token", "x" * 5000):
        with pytest.raises(InvalidToken):
            digests.unsubscribe(bad)
    with pytest.raises(NotSubscribed, match="No subscription for nobody@example.org"):
        digests.unsubscribe_address("nobody@example.org")
    assert digests.unsubscribe(token).state == "unsubscribed"
    assert digests.unsubscribe(token).state == "unsubscribed"  # idempotent
    assert run_digests(digests).planned == 0 and not sink.messages


def test_digest_planned_before_unsubscribing_is_not_sent(digests, sink):
    sub, _ = digests.subscribe("reader@example.org", Options(send_hour=0), confirmed=True)
    digests.plan()
    digests.unsubscribe(digests.unsubscribe_token(sub))
    rep = run_digests(digests)
    assert (rep.sent, rep.skipped) == (0, 1) and not sink.messages


def test_stale_digests_expire_instead_of_arriving_late(email_home, clock):
    from paperboy.service import Paperboy

    pb = Paperboy(email_settings(email_home, free_port(), digest_expire_hours=24))
    d = Digests(pb, secret=SECRET, clock=clock)
    d.subscribe("reader@example.org", Options(send_hour=0), confirmed=True)
    assert run_digests(d).aborted  # server down: the digest waits in the outbox
    clock.advance(hours=30)
    assert d.expire() == 1
    assert [r.state for r in d.outbox_of("reader@example.org")] == ["expired"]
    pb.close()


def test_the_sender_reports_refused_connections_clearly(email_home):
    from paperboy.email.send import ServerUnavailable
    from paperboy.service import Paperboy

    pb = Paperboy(email_settings(email_home, free_port()))
    with pytest.raises(ServerUnavailable, match=r"cannot reach SMTP server 127\.0\.0\.1:\d+: .*refused"):
        SmtpSender(pb.settings).connect()
    pb.close()


def test_the_in_process_scheduler_sends_due_digests(email_pb, sink):
    from paperboy.email.send import start_scheduler

    Digests(email_pb, secret=SECRET).subscribe("sched@example.org", Options(send_hour=0), confirmed=True)
    sched = start_scheduler(email_pb, secret=SECRET.encode(), first_run_in=0)
    try:
        assert [j.id for j in sched.get_jobs()] == ["paperboy-digests"]
        [mail] = sink.wait_for("sched@example.org", timeout=60)
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    finally:
        sched.shutdown(wait=True)


def test_two_concurrent_runs_send_each_digest_once(email_pb, sink):
    import threading
    from collections import Counter

    first = Digests(email_pb, secret=SECRET)
    addresses = [f"c{i}@example.org" for i in range(20)]
    for a in addresses:
        first.subscribe(a, Options(send_hour=0, categories=("cs.CL",)), confirmed=True)
    sink.behaviour.data_delay = 0.01
    reports = []

    def worker() -> None:
        reports.append(run_digests(Digests(email_pb, secret=SECRET)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(r.sent for r in reports) == 20
    assert Counter(r for m in sink.messages for r in m.rcpt_tos) == Counter({a: 1 for a in addresses})
