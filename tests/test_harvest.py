"""Harvests into a real store from loopback OAI-PMH and HF servers: windows, faults, updates, kill -9, CLI, status."""

from __future__ import annotations

import json
import os
import signal
import socket
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperboy.config import Settings
from paperboy.service import Paperboy
from paperboy.store.schema import harvest_state, ingest_runs
from tests.oai_server import HfServer, OaiServer, hf_entry, load_sample

TODAY = datetime.now(timezone.utc).date()
DAY1, DAY2 = str(TODAY - timedelta(days=3)), str(TODAY - timedelta(days=2))
FOLLOW = ["cs.CL", "cs.LG"]


@pytest.fixture(scope="module")
def sample(arxiv_shards) -> list[dict]:
    return load_sample(arxiv_shards[-1:], 180)


def wanted(records: list[dict]) -> set[str]:
    return {r["id"] for r in records if set(r["categories"]) & set(FOLLOW)}


@pytest.fixture
def servers(sample):
    oai, hf = OaiServer(page_size=25).start(), HfServer().start()
    oai.publish(sample[:120], DAY1)
    oai.publish(sample[120:], DAY2)
    yield oai, hf
    oai.stop()
    hf.stop()


def settings_for(home: Path, db_url: str | None, oai: OaiServer, hf: HfServer, **extra) -> Settings:
    values = dict(
        home=home,
        database_url=db_url,
        arxiv_oai_url=oai.url + "/oai",
        hf_api_url=hf.url,
        follow=FOLLOW,
        harvest_min_interval=0.0,
        harvest_backoff=0.01,
        harvest_timeout=5.0,
        harvest_initial_days=5,
        harvest_contact="ops@example.org",
    )
    values.update(extra)
    return Settings(**values)


def env_for(oai: OaiServer, hf: HfServer) -> dict[str, str]:
    return {
        "PAPERBOY_ARXIV_OAI_URL": oai.url + "/oai",
        "PAPERBOY_HF_API_URL": hf.url,
        "PAPERBOY_FOLLOW": json.dumps(FOLLOW),
        "PAPERBOY_HARVEST_MIN_INTERVAL": "0",
        "PAPERBOY_HARVEST_BACKOFF": "0.01",
        "PAPERBOY_HARVEST_INITIAL_DAYS": "5",
    }


def test_harvest_follows_resumes_updates_and_adds_hf(tmp_path, home_database, servers, sample):
    oai, hf = servers
    oai.faults = {2: "503", 3: "malformed", 5: "drop", 6: "slow"}
    oai.retry_after = "0"
    extra = sample[179]  # a paper only Hugging Face lists (not yet harvested from arXiv)
    oai.remove(extra["id"])
    liked = next(r for r in sample if set(r["categories"]) & set(FOLLOW))
    hf.days[DAY1] = [
        hf_entry(
            liked,
            DAY1,
            42,
            githubRepo="https://github.com/org/repo",
            githubStars=7,
            projectPage="https://example.org/p",
            ai_summary="It does things.",
            ai_keywords=["alpha", "beta"],
        ),
        hf_entry(extra, DAY1, 3),
    ]
    hf.days[DAY2] = "malformed"  # and every other day answers 404
    home = tmp_path / "home"
    pb = Paperboy(settings_for(home, home_database(home), oai, hf))
    try:
        problems: list[str] = []
        rep = pb.harvest.run(on_problem=problems.append).to_dict()
        follow_ids = wanted(sample[:179])
        stored = {p.arxiv_id for p in pb.iter_papers()}
        assert stored == follow_ids | {extra["id"]}  # followed ones only, each once, plus HF's own paper
        arxiv = rep["sources"]["arxiv"]
        assert arxiv["added"] == len(follow_ids) and arxiv["skipped"] == 179 - len(follow_ids)
        assert arxiv["watermark"] == str(TODAY) and arxiv["failed"] is False
        assert [r.answer for r in oai.requests[:6]] == ["200", "503", "malformed", "200", "drop", "200"]
        assert rep["sources"]["hf"]["rejected"] == 1 and any(f"date={DAY2}" in p for p in problems)
        assert rep["added"] == len(follow_ids) + 1 and rep["requests"] == len(oai.requests) + len(hf.requests)

        paper = pb.store.get(liked["id"])
        assert paper.upvotes == 42 and paper.code_url == "https://github.com/org/repo" and paper.github_stars == 7
        assert paper.project_url == "https://example.org/p" and paper.submitted_by == "akhaliq"
        assert pb.harvest.hf_extras(paper.id) == {"ai_summary": "It does things.", "ai_keywords": ["alpha", "beta"]}
        hf_days = sorted(r.query["date"] for r in hf.requests)
        assert hf_days[0] == str(TODAY - timedelta(days=4)) and hf_days[-1] == str(TODAY)

        # Again: starts from the watermark (today), so nothing comes twice; the last HF days come again.
        before = len(oai.requests)
        again = pb.harvest.run().to_dict()
        assert again["sources"]["arxiv"]["added"] == 0 and oai.requests[before].query["from"] == str(TODAY)

        # arXiv announces a new version of one paper, with a journal ref and one more category.
        first = next(r for r in sample if r["id"] in follow_ids)
        oai.publish(
            [
                dict(
                    first,
                    journal_ref="Proc. Test 2026",
                    categories=[*first["categories"], "stat.ML"],
                    updated=str(TODAY),
                )
            ],
            TODAY,
        )
        third = pb.harvest.run(source="arxiv").to_dict()
        assert third["updated"] == 1 and third["added"] == 0
        p = pb.store.get(first["id"])
        assert p.journal_ref == "Proc. Test 2026" and "stat.ML" in p.categories and p.updated == TODAY
        assert pb.store.count() == len(follow_ids) + 1

        status = pb.stats()["harvest"]
        assert status["follow"] == FOLLOW and status["sources"]["arxiv"]["sets"] == {"cs": str(TODAY)}
        assert status["sources"]["hf"]["watermark"] == str(TODAY) and status["sources"]["hf"]["last_success"]
    finally:
        pb.close()


@pytest.mark.sqlite_only  # the store side is the same as above; this is about the protocol
def test_bad_token_restarts_window_and_no_records_is_not_an_error(tmp_path, home_database, servers):
    oai, hf = servers
    home = tmp_path / "home"
    pb = Paperboy(settings_for(home, home_database(home), oai, hf))
    try:
        pb.store.harvest.save_resume("arxiv", "cs", "0|cs|x|y|50", TODAY - timedelta(days=4), TODAY)
        problems: list[str] = []
        rep = pb.harvest.run(source="arxiv", on_problem=problems.append).to_dict()
        assert any("resumption token refused" in p for p in problems)
        assert oai.requests[1].query.get("metadataPrefix") == "arXiv"  # asked for the window again
        assert rep["added"] == pb.store.count() > 0 and pb.store.harvest.state("arxiv", "cs").resume_token is None
        empty = pb.harvest.run(source="arxiv", from_=date(2020, 1, 1), until=date(2020, 1, 2)).to_dict()
        assert empty["sources"]["arxiv"]["failed"] is False and empty["added"] == 0
    finally:
        pb.close()


def test_kill_9_mid_harvest_then_rerun_stores_every_record_once(
    tmp_path, servers, sample, cli_process, cli, monkeypatch, home_database
):
    oai, hf = servers
    for k, v in env_for(oai, hf).items():
        monkeypatch.setenv(k, v)
    home = tmp_path / "home"
    oai.faults = {4: "hold"}  # the 4th request waits: pages 1-3 are stored and their token saved by then
    proc = cli_process(home, "harvest", "--source", "arxiv", "--json", "-q", "--no-index")
    assert oai.wait_requests(4), "the harvest never reached page 4"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    oai.release.set()

    code, out, err = cli(home, "harvest", "--source", "arxiv", "--json", "--no-index")
    assert code == 0, err
    rep = json.loads(out)
    resumed = oai.requests[4].query
    assert set(resumed) == {"verb", "resumptionToken"} and resumed["resumptionToken"].endswith("|75")
    pb = Paperboy(Settings(home=home, database_url=home_database(home)))
    try:
        ids = [p.arxiv_id for p in pb.iter_papers()]
        assert sorted(ids) == sorted(wanted(sample))  # every record, once
        with pb.store.engine.connect() as conn:
            added = conn.execute(sa.select(sa.func.sum(ingest_runs.c.added))).scalar()
            state = conn.execute(sa.select(harvest_state)).one()
        assert added == len(ids)  # the two runs together added each paper exactly once
        assert rep["watermark"] == str(TODAY) and state.watermark == TODAY and state.resume_token is None
        assert rep["added"] < len(ids)  # the rerun did not start over: pages 1-3 were kept
    finally:
        pb.close()


@pytest.mark.sqlite_only  # command-line behaviour; the store side runs on both backends above
def test_cli_json_exit_codes_and_no_network(tmp_path, cli, servers, monkeypatch):
    oai, hf = servers
    for k, v in env_for(oai, hf).items():
        monkeypatch.setenv(k, v)
    home = tmp_path / "home"
    code, out, err = cli(home, "harvest", "--json", "--no-index", "--from", DAY1, "--until", DAY2, "--set", "cs")
    assert code == 0, err
    rep = json.loads(out)
    assert set(rep) >= {"added", "updated", "unchanged", "rejected", "requests", "watermark", "sources"}
    assert set(rep["sources"]) == {"arxiv", "hf"} and rep["added"] > 0 and rep["watermark"] == DAY2
    # A window after a gap (today, when the watermark is two days back) leaves the watermark alone.
    code, out, _ = cli(home, "harvest", "--json", "--no-index", "--from", str(TODAY), "--until", str(TODAY))
    assert code == 0 and json.loads(out)["watermark"] == DAY2
    assert cli(home, "harvest", "--from", "yesterday")[0] == 2
    assert cli(home, "harvest", "--set", "cs&verb=Identify")[0] == 2
    assert cli(home, "harvest", "--from", DAY2, "--until", DAY1)[0] == 2

    with socket.socket() as s:  # nobody listens here: "no network"
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("PAPERBOY_ARXIV_OAI_URL", dead + "/oai")
    monkeypatch.setenv("PAPERBOY_HF_API_URL", dead)
    monkeypatch.setenv("PAPERBOY_HARVEST_MAX_RETRIES", "1")
    code, out, err = cli(home, "harvest", "--no-index")
    assert code == 4 and "Traceback" not in err
    assert "unreachable" in out and len(out.strip().splitlines()) == 2  # one line per source
    monkeypatch.setenv("PAPERBOY_HARVEST_INTERVAL_HOURS", "6")  # as the worker would: next run is shown
    code, out, _ = cli(home, "stats", "--json")
    status = json.loads(out)["harvest"]["sources"]
    assert "unreachable" in status["arxiv"]["last_error"] and status["arxiv"]["watermark"] == DAY2
    assert status["hf"]["last_error"] and status["arxiv"]["next_run"]
