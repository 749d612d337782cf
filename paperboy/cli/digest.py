"""`paperboy digest ...`: subscribe, confirm, unsubscribe, preview and run email digests.

From cron, every 15 minutes (each run sends what is due: digests whose local hour has come,
confirmations, and retries whose backoff is over; reruns never send a digest twice):
    */15 * * * *  paperboy --home /srv/paperboy digest run -q
`paperboy serve` can do the same in-process instead (`start_scheduler` in paperboy.email.send).

Exit codes as in `paperboy.cli.common`: 0 done (also "nothing due"), 2 usage, 3 finished with problems
(some emails failed or wait for a retry; the SMTP server was down: everything stays queued),
4 nothing could be done (unknown address, invalid token).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from paperboy.cli.common import EXIT_PARTIAL, emit, failing_on, home_option, json_option, service

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _digests(ctx: click.Context):
    from paperboy.email.send import open_digests

    return open_digests(service(ctx))


@click.group(name="digest")
def digest() -> None:
    """Email digests: subscriptions and delivery (run `digest run` from cron, or let `serve` schedule it)."""


@digest.command()
@home_option
@click.argument("email")
@click.option("--weekly", "frequency", flag_value="weekly", help="One digest a week (default: daily).")
@click.option("--daily", "frequency", flag_value="daily", default=True, hidden=True)
@click.option("--hour", type=click.IntRange(0, 23), help="Local hour to send at (default: digest_hour).")
@click.option("--weekday", type=click.Choice(WEEKDAYS), help="Day of weekly digests (default: digest_weekday).")
@click.option("--timezone", "tz", help="IANA time zone, e.g. Europe/Berlin (default: digest_timezone).")
@click.option("--category", "categories", multiple=True, help="Follow a category, e.g. cs.CL (repeatable).")
@click.option("--author", "authors", multiple=True, help="Follow an author (repeatable).")
@click.option("--no-trending", is_flag=True, help="Leave out trending papers.")
@click.option("--no-searches", is_flag=True, help="Leave out matches of the account's saved searches.")
@click.option("--no-recommended", is_flag=True, help="Leave out personal recommendations.")
@click.option(
    "--confirmed",
    is_flag=True,
    help="Activate without a confirmation email: only for addresses whose owner already opted in.",
)
@click.pass_context
def subscribe(
    ctx, email, frequency, hour, weekday, tz, categories, authors, no_trending, no_searches, no_recommended, confirmed
) -> None:
    """Subscribe EMAIL; a confirmation link is emailed (nothing else is sent until it is followed)."""
    from paperboy.email.send import run_digests
    from paperboy.service.digests import DigestError, Options

    d = _digests(ctx)
    base = Options.defaults(d.settings)
    opts = Options(
        frequency=frequency or "daily",
        send_hour=base.send_hour if hour is None else hour,
        weekday=base.weekday if weekday is None else WEEKDAYS.index(weekday),
        timezone=tz or base.timezone,
        trending=not no_trending,
        searches=not no_searches,
        recommended=not no_recommended,
        categories=tuple(categories),
        authors=tuple(authors),
    )
    with failing_on(ctx, DigestError):
        sub, out_id = d.subscribe(email, opts, confirmed=confirmed)
    if out_id is None:
        click.echo(f"{sub.display_email}: subscribed, {sub.options.describe()}")
        return
    rep = run_digests(d, only_id=out_id, plan=False)
    if rep.sent:
        click.echo(f"{sub.display_email}: confirmation email sent; the subscription starts when its link is followed")
    else:
        click.echo(
            f"{sub.display_email}: confirmation email queued, not sent yet"
            f"{': ' + rep.aborted if rep.aborted else ''}; `paperboy digest run` retries it",
            err=True,
        )
        ctx.exit(EXIT_PARTIAL)


@digest.command()
@home_option
@click.argument("token")
@click.pass_context
def confirm(ctx, token) -> None:
    """Confirm a subscription with the token (or the whole link) from its confirmation email."""
    from paperboy.service.digests import DigestError

    token = token.strip().rstrip("/").rsplit("/", 1)[-1]
    with failing_on(ctx, DigestError):
        sub = _digests(ctx).confirm(token)
    click.echo(f"{sub.display_email}: subscribed, {sub.options.describe()}")


@digest.command()
@home_option
@click.argument("email")
@click.pass_context
def unsubscribe(ctx, email) -> None:
    """Stop digests to EMAIL."""
    from paperboy.service.digests import DigestError

    with failing_on(ctx, DigestError):
        sub = _digests(ctx).unsubscribe_address(email)
    click.echo(f"{sub.display_email}: unsubscribed")


@digest.command()
@home_option
@click.argument("email")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HTML file to write (a .eml or .txt name writes the whole message / the text part).",
)
@click.pass_context
def preview(ctx, email, out) -> None:
    """Write the digest EMAIL would get next, without sending or recording anything."""
    from paperboy.email.compose import html_part, message_bytes
    from paperboy.email.send import compose_preview
    from paperboy.service.digests import DigestError

    d = _digests(ctx)
    with failing_on(ctx, DigestError):
        dg = d.preview(email)
    msg = compose_preview(d, dg)
    if out.suffix.lower() == ".eml":
        data = message_bytes(msg)
    elif out.suffix.lower() == ".txt":
        data = msg.get_body(preferencelist=("plain",)).get_content().encode()
    else:
        data = html_part(msg).encode()
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    click.echo(f"{len(dg.items)} papers for {dg.subscription.display_email} ({dg.period}) written to {out}")
    if dg.is_empty():
        click.echo("note: nothing new for this period; `digest run` would skip this address", err=True)


@digest.command()
@home_option
@click.option("--dry-run", is_flag=True, help="Show what is due; compose but send and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as a JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="Only print problems.")
@click.pass_context
def run(ctx, dry_run, as_json, quiet) -> None:
    """Send every due digest, confirmation and retry (safe to rerun, and to run from cron)."""
    from paperboy.email.send import run_digests

    rep = run_digests(_digests(ctx), dry_run=dry_run)
    if as_json:
        from dataclasses import asdict

        emit(asdict(rep))
    else:
        for line in rep.dry_run:
            click.echo(line)
        if not quiet or rep.aborted or rep.failed:
            click.echo(("dry run: " if dry_run else "") + rep.summary(), err=bool(rep.aborted))
    if rep.aborted or rep.failed or rep.retry:
        ctx.exit(EXIT_PARTIAL)


@digest.command(name="status")
@home_option
@json_option
@click.pass_context
def status(ctx, as_json) -> None:
    """Subscriptions by state and outbox rows by state."""
    counts = _digests(ctx).counts()
    if as_json:
        emit(counts)
        return
    for what, by_state in counts.items():
        click.echo(f"{what}: " + (", ".join(f"{k} {v:,}" for k, v in sorted(by_state.items())) or "none"))
