"""The worker left running against loopback arXiv OAI-PMH and HF servers while they publish new days."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from paperboy.email.send import digest_sender
from paperboy.service import Paperboy
from paperboy.service.digests import Options
from paperboy.service.worker import Worker
from paperboy.store.schema import digest_outbox, ingest_runs
from tests.oai_server import HfServer, OaiServer, hf_entry, load_sample

from .conftest import SHARED, email_settings


def wait_until(check, what: str, timeout: float = 120.0) -> None:
    """Poll a state (the timeout only ends a hung test; nothing here depends on how long things take)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_worker_harvests_new_days_indexes_them_and_sends_digests_after(tmp_path, home_database, sink):
    today = datetime.now(timezone.utc).date()
    day1, day2 = today - timedelta(days=1), today
    shard = SHARED / "corpus" / "arxiv-cs-2025-2026" / "papers-2026-06.jsonl.gz"  # not in the email home
    fresh = [dict(r, created=str(day1)) for r in load_sample([shard], 40)]
    oai, hf = OaiServer(page_size=15).start(), HfServer().start()
    oai.publish(fresh[:20], day1)
    hf.days[str(day1)] = [hf_entry(fresh[0], str(day1), 9, githubRepo="https://github.com/o/r")]
    home = tmp_path / "home"  # an empty instance: everything it holds comes from the harvests
    settings = email_settings(
        home,
        sink.port,
        database_url=home_database(home),
        arxiv_oai_url=oai.url + "/oai",
        hf_api_url=hf.url,
        follow=["cs"],
        harvest_min_interval=0.0,
        harvest_interval_hours=0.0003,
        harvest_initial_days=2,
        digest_check_minutes=0.1,
    )
    pb = Paperboy(settings)
    worker = Worker(pb, interval=0.05, settle=0, embed=False, deliver=digest_sender(pb))
    thread = threading.Thread(target=worker.run, daemon=True)
    try:
        pb.digests.subscribe(
            "reader@example.org", Options(send_hour=0, categories=("cs",), recommended=False), confirmed=True
        )
        thread.start()
        mail = sink.wait_for("reader@example.org", 1, timeout=120)[0]
        assert any(r["id"] in mail.message.get_body(("plain",)).get_content() for r in fresh[:20])

        # arXiv and Hugging Face publish the next day while the worker runs.
        oai.publish(fresh[20:], day2)
        hf.days[str(day2)] = [hf_entry(fresh[25], str(day2), 4)]
        ids = {r["id"] for r in fresh}
        wait_until(lambda: ids <= {p.arxiv_id for p in pb.store.get_many(sorted(ids)).values()}, "every paper")
        wait_until(lambda: not pb.index_status()["lexical_stale"], "the keyword index")
        hits = pb.search(fresh[30]["title"], mode="lexical", limit=3)
        assert fresh[30]["id"] in [h.paper.id for h in hits.hits]
        assert pb.store.get(fresh[0]["id"]).upvotes == 9 and pb.store.get(fresh[25]["id"]).upvotes == 4
    finally:
        worker.stopping = "test"
        thread.join(60)
        oai.stop()
        hf.stop()
    assert not thread.is_alive()
    with pb.store.engine.connect() as conn:
        first_harvest = conn.execute(
            sa.select(sa.func.min(ingest_runs.c.finished_at)).where(ingest_runs.c.source == "arxiv-oai-pmh")
        ).scalar()
        sent = conn.execute(
            sa.select(sa.func.min(digest_outbox.c.sent_at)).where(digest_outbox.c.kind == "digest")
        ).scalar()
    assert first_harvest is not None and sent is not None and first_harvest <= sent  # papers first, then mail
    assert len(sink.to("reader@example.org")) == 1  # one digest a day, however many harvests
    pb.close()
