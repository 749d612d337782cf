"""`paperboy digest ...`: the CLI, including a real `digest run` process killed with SIGKILL mid-run."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter

import pytest
from click.testing import CliRunner

from paperboy.cli.digest import digest
from paperboy.service.digests import Digests, Options

from .conftest import SECRET, SmtpSink, digest_command, email_env, free_port

N_SUBSCRIBERS = 40
KILL_AT = 15  # the 15th SMTP transaction: 14 digests delivered, the 15th claimed but not sent


def cli(home, port, *args):
    result = CliRunner().invoke(digest, list(args), env=email_env(home, port), catch_exceptions=False)
    return result.exit_code, result.output


def test_sigkill_mid_run_then_rerun_delivers_each_digest_exactly_once(email_home, email_pb, sink):
    d = Digests(email_pb, secret=SECRET)
    addresses = [f"reader{i:02d}@example.org" for i in range(N_SUBSCRIBERS)]
    for a in addresses:
        d.subscribe(a, Options(send_hour=0, categories=("cs.CV",)), confirmed=True)
    email_pb.close()
    sink.behaviour.data_delay = 0.05  # a slow-ish server, so the run is well under way when it dies
    env = email_env(email_home, sink.port)

    proc = subprocess.Popen(digest_command("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sink.behaviour.kill_pid, sink.behaviour.kill_at_mail = proc.pid, KILL_AT
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert len(sink.messages) == KILL_AT - 1
    states = Counter(r.state for a in addresses for r in d.outbox_of(a))
    assert states == {"sent": KILL_AT - 1, "sending": 1, "pending": N_SUBSCRIBERS - KILL_AT}

    sink.behaviour.kill_pid = None
    rerun = subprocess.run(digest_command("run"), env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "recovered 1" in rerun.stderr + rerun.stdout
    got = Counter(r for m in sink.messages for r in m.rcpt_tos)
    assert got == Counter({a: 1 for a in addresses})  # each subscriber exactly one digest
    assert len({m.message["Message-ID"] for m in sink.messages}) == N_SUBSCRIBERS
    assert Counter(r.state for a in addresses for r in d.outbox_of(a)) == {"sent": N_SUBSCRIBERS}

    again = subprocess.run(digest_command("run"), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and len(sink.messages) == N_SUBSCRIBERS  # the period is done


def test_subscribe_confirm_status_and_unsubscribe(email_home, sink):
    code, out = cli(
        email_home,
        sink.port,
        "subscribe",
        "Reader@Example.org",
        "--weekly",
        "--weekday",
        "fri",
        "--hour",
        "7",
        "--timezone",
        "Europe/Berlin",
        "--category",
        "cs.CL",
    )
    assert code == 0 and "confirmation email sent" in out
    body = sink.wait_for("reader@example.org")[0].message.get_body(("plain",)).get_content()
    link = next(w for w in body.split() if "/digest/confirm/" in w)
    code, out = cli(email_home, sink.port, "confirm", link)
    assert code == 0 and "weekly on Friday at 07:00 Europe/Berlin" in out
    code, out = cli(email_home, sink.port, "status")
    assert code == 0 and "subscriptions: active 1" in out
    code, out = cli(email_home, sink.port, "unsubscribe", "reader@example.org")
    assert code == 0 and "unsubscribed" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["unsubscribe", "nobody@example.org"], "No subscription for nobody@example.org"),
        (["subscribe", "a@example.org\r\nBcc: b@example.org"], "cannot contain spaces, line breaks"),
        (["subscribe", "a" * 1000 + "@example.org"], "too long"),
        (["subscribe", "a@example.org", "--timezone", "Nowhere/City"], "Unknown time zone"),
        (["confirm", "http://testserver/digest/confirm/forged.token.value"], "not valid"),
        (["preview", "nobody@example.org", "--out", "x.html"], "No subscription or account"),
    ],
)
def test_bad_input_gives_a_clear_error_and_exit_4(email_home, sink, args, message):
    code, out = cli(email_home, sink.port, *args)
    assert code == 4 and message in out
    assert "Traceback" not in out and not sink.messages


def test_subscribe_while_smtp_is_down_queues_the_confirmation(email_home):
    code, out = cli(email_home, free_port(), "subscribe", "later@example.org")
    assert code == 3 and "queued" in out and "cannot reach SMTP server" in out


def test_preview_writes_the_digest_without_sending(email_home, sink, tmp_path):
    cli(email_home, sink.port, "subscribe", "reader@example.org", "--category", "cs.CV", "--confirmed")
    out_file = tmp_path / "digest.html"
    code, out = cli(email_home, sink.port, "preview", "reader@example.org", "--out", str(out_file))
    assert code == 0 and "written to" in out
    html = out_file.read_text()
    assert html.count('href="http://testserver/papers/') >= 3 and "new in cs.CV" in html
    assert "/digest/unsubscribe/" in html
    code, _ = cli(email_home, sink.port, "preview", "reader@example.org", "--out", str(tmp_path / "d.eml"))
    assert code == 0 and b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in (tmp_path / "d.eml").read_bytes()
    assert not sink.messages


def test_dry_run_sends_and_records_nothing(email_home, sink):
    cli(email_home, sink.port, "subscribe", "reader@example.org", "--confirmed")
    code, out = cli(email_home, sink.port, "run", "--dry-run")
    assert code == 0 and "would send daily digest" in out and "reader@example.org" in out
    code, out = cli(email_home, sink.port, "status")
    assert "outbox: none" in out and not sink.messages
    code, out = cli(email_home, sink.port, "run")
    assert code == 0 and "sent 1" in out and len(sink.messages) == 1


def test_run_with_the_server_down_exits_3_and_keeps_everything(email_home):
    port = free_port()
    cli(email_home, port, "subscribe", "reader@example.org", "--confirmed")
    code, out = cli(email_home, port, "run")
    assert code == 3 and "stopped early: cannot reach SMTP server" in out
    with SmtpSink(port) as sink:
        _ = sink
        code, out = cli(email_home, port, "status")
        assert "outbox: pending 1" in out
