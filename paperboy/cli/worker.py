"""`paperboy worker`: the one long-running background process (inbox, indexes, digests)."""

from __future__ import annotations

import os
import sys

import click

from paperboy.cli.common import EXIT_PARTIAL, FiniteRange, home_option, service


@click.command()
@home_option
@click.option(
    "--interval",
    type=FiniteRange(0.1, 24 * 3600),
    default=5.0,
    show_default=True,
    help="Seconds between passes (digests and web submissions: every PAPERBOY_DIGEST_CHECK_MINUTES).",
)
@click.option("--once", is_flag=True, help="One pass, then exit (for cron and tests); exit 3 if something failed.")
@click.option(
    "--nice",
    "niceness",
    type=click.IntRange(0, 19),
    default=10,
    show_default=True,
    help="Lower this process's CPU priority by this much, so web requests win the CPU while it embeds.",
)
@click.option(
    "--settle",
    type=FiniteRange(0, 3600),
    default=2.0,
    show_default=True,
    help="Leave inbox files alone until unchanged for this many seconds (still being copied).",
)
@click.option(
    "--ingest-share",
    type=FiniteRange(0.05, 1.0),
    default=0.5,
    show_default=True,
    help="Share of the time inbox ingests spend writing: the database runs those writes at full "
    "priority, so pacing them leaves CPU to web requests (1 = as fast as possible).",
)
@click.option("--no-embed", is_flag=True, help="Keep the keyword index only; embed with `paperboy index`.")
@click.option("--no-digests", is_flag=True, help="Do not send email digests (cron runs `paperboy digest run`).")
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1, 1_000_000),
    default=None,
    hidden=True,
    help="New vectors between embedding checkpoints (default 2048).",
)
@click.pass_context
def worker(ctx, interval, once, niceness, settle, ingest_share, no_embed, no_digests, checkpoint_every) -> None:
    """Background work: ingest files dropped in <home>/inbox, harvest arXiv and Hugging Face (every
    PAPERBOY_HARVEST_INTERVAL_HOURS), keep the indexes up to date, then send digests."""
    import logging

    from paperboy.service.worker import Worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("paperboy").setLevel(logging.INFO)
    if niceness:
        os.nice(niceness)
    pb = service(ctx)
    deliver = None
    if not no_digests:
        from paperboy.email.send import digest_sender

        deliver = digest_sender(pb)
    w = Worker(
        pb,
        interval=interval,
        settle=settle,
        embed=not no_embed,
        deliver=deliver,
        progress=sys.stderr.isatty(),
        checkpoint_every=checkpoint_every,
        ingest_share=ingest_share,
    )
    w.install_signal_handlers()
    rep = w.run(once=once)
    if once and not rep.ok:
        ctx.exit(EXIT_PARTIAL)
