"""`paperboy worker` and `paperboy serve --workers`, as real processes with real signals, on both backends."""

from __future__ import annotations

import concurrent.futures
import gzip
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from paperboy.config import Settings
from paperboy.service import Paperboy
from tests.index.test_index_concurrency import HOLD_LOCK


def write_slice(shard: Path, dest: Path, start: int, n: int, *, garbage: bool = False) -> list[dict]:
    """Records [start, start+n) of a real arXiv shard as a .jsonl file (optionally with 2 bad lines inside)."""
    with gzip.open(shard, "rt", encoding="utf-8") as f:
        lines = list(itertools.islice(f, start, start + n))
    records = [json.loads(line) for line in lines]
    if garbage:
        lines[n // 2 : n // 2] = ["{not json at all\n", '{"id": "2599.99999"}\n']
    tmp = dest.with_name(dest.name + ".part")  # the worker ignores .part files: rename in when complete
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("".join(lines), encoding="utf-8")
    tmp.replace(dest)
    return records


@pytest.fixture
def open_pb(home_database):
    opened: list[Paperboy] = []

    def make(home: Path) -> Paperboy:
        pb = Paperboy(Settings(home=home, database_url=home_database(home)))
        opened.append(pb)
        return pb

    yield make
    for pb in opened:
        pb.close()


@pytest.fixture
def run_worker(subprocess_env):
    """`run_worker(home, *args)`: one `paperboy worker --once` pass in a child process -> CompletedProcess."""

    def run(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "paperboy.cli", "--home", str(home), "worker", "--once", "--settle", "0", *args],
            env=subprocess_env(home),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def wait_for(cond, timeout: float, what: str, proc: subprocess.Popen | None = None, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            pytest.fail(
                f"{what}: the process exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


def vectors_manifest(home: Path) -> dict:
    for path in (home / "index" / "dense").glob("*/manifest.json"):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
    return {}


def assert_indexes_match_store(pb: Paperboy, *, dense: bool = True) -> set[str]:
    ids = {p.id for p in pb.iter_papers()}
    st = pb.index_status()
    assert st["lexical_papers"] == st["store_papers"] == len(ids)
    assert pb.indexes.lexical.ids() == ids
    assert not st["lexical_stale"]
    if dense:
        assert st["dense_papers"] == len(ids) and not st["dense_stale"]
        vec_ids = pb.indexes.vectors.ids
        assert len(vec_ids) == len(set(vec_ids)) == len(ids)  # no duplicate rows
        assert set(vec_ids) == ids
    return ids


def test_worker_once_ingests_the_inbox_and_sorts_files(tmp_path, arxiv_shards, run_worker, open_pb):
    home = tmp_path / "home"
    good = write_slice(arxiv_shards[0], home / "inbox" / "good.jsonl", 0, 40)
    bad = write_slice(arxiv_shards[1], home / "inbox" / "bad.jsonl", 0, 30, garbage=True)
    (home / "inbox" / "copying.jsonl.part").write_text("{half a rec")  # still being copied: left alone

    res = run_worker(home, "--no-embed")

    assert res.returncode == 3, res.stderr  # a file went to failed/: "finished with problems"
    inbox = home / "inbox"
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["good.jsonl"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["bad.jsonl", "bad.jsonl.log"]
    assert (inbox / "copying.jsonl.part").exists()
    log = json.loads((inbox / "failed" / "bad.jsonl.log").read_text())
    assert log["report"]["added"] == 30 and log["report"]["rejected"] == 2
    assert any("invalid JSON" in p for p in log["problems"])
    # One line per step that did something.
    assert "inbox: good.jsonl -> done/ (arxiv-jsonl: 40 added" in res.stderr
    assert "inbox: bad.jsonl -> failed/" in res.stderr
    assert "70 papers indexed for keyword search" in res.stderr

    pb = open_pb(home)
    assert pb.store.count() == 70  # the good records of the bad file went in too
    assert_indexes_match_store(pb, dense=False)
    for rec in (good[3], bad[20]):
        assert pb.search(rec["title"], mode="lexical", limit=3).hits[0].paper.id == rec["id"]

    # A second pass finds nothing to do, says nothing about it, and succeeds.
    again = run_worker(home, "--no-embed")
    assert again.returncode == 0, again.stderr
    assert "inbox:" not in again.stderr and "index:" not in again.stderr


def test_sigkill_while_embedding_then_restart_resumes(tmp_path, arxiv_shards, cli_process, run_worker, open_pb):
    home = tmp_path / "home"
    n = 60
    recs = write_slice(arxiv_shards[2], home / "inbox" / "batch.jsonl", 0, n)
    # --nice 0: on a busy shared machine a niced worker would make this test slow, not better.
    proc = cli_process(home, "worker", "--settle", "0", "--interval", "0.5", "--checkpoint-every", "20", "--nice", "0")
    wait_for(lambda: vectors_manifest(home).get("count", 0) > 0, 180, "the first embedding checkpoint", proc, 0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    checkpointed = vectors_manifest(home)["count"]
    assert 0 < checkpointed < n, "the worker finished before it could be killed mid-embedding"
    pb = open_pb(home)
    assert pb.index_status()["dense_stale"]  # the kill left the dense index behind the store...
    assert pb.index_status()["lexical_papers"] == n  # ...but keyword search was complete before embedding began

    res = run_worker(home, "--checkpoint-every", "20", "--nice", "0")
    assert res.returncode == 0, res.stderr
    # Resumed: only what the last checkpoint did not hold was embedded again.
    assert f"embedded {n - checkpointed:,} papers" in res.stderr, res.stderr

    pb = open_pb(home)
    assert_indexes_match_store(pb)
    assert (home / "inbox" / "done" / "batch.jsonl").exists()
    target = recs[17]
    assert pb.search(target["title"], mode="lexical", limit=5).hits[0].paper.id == target["id"]
    # Nearest neighbours come from the vectors (the dense path), which open without loading the model here.
    similar = pb.similar(target["id"], limit=5)
    assert len(similar) == 5 and target["id"] not in {h.paper.id for h in similar}
    assert pb.indexes.vectors.search(pb.indexes.vectors.vector(target["id"]), 1).ids == [target["id"]]
    assert pb.indexes._embedder is None


def test_sigkill_during_inbox_ingest_then_restart(
    tmp_path, arxiv_shards, cli_process, run_worker, open_pb, monkeypatch
):
    home, ref_home = tmp_path / "home", tmp_path / "ref"
    shard = arxiv_shards[3]
    expected = open_pb(ref_home).ingest([shard]).added  # the same file ingested without interruption
    (home / "inbox").mkdir(parents=True)
    tmp = home / "inbox" / f"{shard.name}.part"
    tmp.write_bytes(shard.read_bytes())
    pb = open_pb(home)
    monkeypatch.setenv("PAPERBOY_BATCH_SIZE", "50")  # many small transactions: the kill lands mid-file
    proc = cli_process(home, "worker", "--settle", "0", "--no-embed")
    monkeypatch.delenv("PAPERBOY_BATCH_SIZE")
    tmp.replace(home / "inbox" / shard.name)
    wait_for(lambda: pb.store.count() > 0, 120, "the first ingested batch", proc, 0.005)
    # The worker lowered its own priority (--nice 10 by default) so web requests win the CPU.
    assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    pb.close()
    partial = pb.store.count()
    assert (home / "inbox" / shard.name).exists(), "the ingest finished before the kill"
    assert 0 < partial < expected

    res = run_worker(home, "--no-embed")
    assert res.returncode == 0, res.stderr
    assert (home / "inbox" / "done" / shard.name).exists() and not (home / "inbox" / shard.name).exists()
    assert pb.store.count() == expected
    assert_indexes_match_store(pb, dense=False)


def test_reader_sees_worker_updates_without_errors_or_restart(tmp_path, arxiv_shards, cli_process, open_pb):
    home = tmp_path / "home"
    first = write_slice(arxiv_shards[4], tmp_path / "first.jsonl", 0, 60)
    second = write_slice(arxiv_shards[4], tmp_path / "second.jsonl", 60, 60)
    pb = open_pb(home)
    pb.ingest([tmp_path / "first.jsonl"])
    pb.update_index()  # lexical + dense for the first 60
    assert len(pb.indexes.vectors) == 60
    target = second[7]

    (home / "inbox").mkdir()
    (tmp_path / "second.jsonl").replace(home / "inbox" / "second.jsonl")
    proc = cli_process(home, "worker", "--settle", "0", "--interval", "0.3", "--nice", "0")
    errors: list[str] = []
    searches = 0
    lex_counts, vec_counts = [], []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            for query, mode in (
                (target["title"], "hybrid"),
                ("language models for reasoning", "lexical"),
                (first[3]["title"], "hybrid"),
            ):
                page = pb.search(query, mode=mode, limit=20)
                ids = [h.paper.id for h in page.hits]
                assert ids and len(ids) == len(set(ids)), (query, ids)
                searches += 1
            assert pb.similar(first[0]["id"], limit=5)
            lex_counts.append(pb.indexes.lexical.count())
            vec_counts.append(len(pb.indexes.vectors))
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        hits = pb.search(target["title"], mode="hybrid", limit=3).hits
        if (
            vec_counts
            and vec_counts[-1] == 120
            and hits
            and hits[0].paper.id == target["id"]
            and "dense" in hits[0].matched_by
        ):
            break
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    else:
        pytest.fail(f"the reader never saw the worker's papers; lexical {lex_counts[-1:]}, vectors {vec_counts[-1:]}")

    assert errors == []
    assert searches > 10
    assert lex_counts == sorted(lex_counts) and set(lex_counts) <= {60, 120}  # whole commits only
    assert vec_counts == sorted(vec_counts) and set(vec_counts) <= {60, 120}  # whole updates only
    assert pb.indexes._embedder is not None  # (hybrid queries need it; similar() alone would not)

    proc.send_signal(signal.SIGTERM)  # clean exit between steps (here: while sleeping)
    assert proc.wait(timeout=30) == 0
    assert "stopped (SIGTERM)" in proc.stderr.read().decode()


def test_paperboy_index_waits_for_the_lock_with_a_message(tmp_path, cli, cli_process):
    home = tmp_path / "home"
    assert cli(home, "index", "--no-embed")[0] == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_LOCK), str(home / "index")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"  # it keeps the lock until told
    indexer = cli_process(home, "index", "--no-embed", "-q", text=True)
    said = ""
    for line in indexer.stderr:  # blocks until the indexer says why it waits (or ends without saying)
        said += line
        if "waiting for another process" in line:
            break
    assert "waiting for another process updating the index" in said
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert indexer.wait(timeout=120) == 0, indexer.stderr.read()
    assert holder.wait(timeout=60) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_workers_share_the_port_and_see_worker_updates(tmp_path, arxiv_shards, cli_process, run_worker, open_pb):
    import psutil

    home = tmp_path / "home"
    write_slice(arxiv_shards[5], tmp_path / "first.jsonl", 0, 40)
    later = write_slice(arxiv_shards[5], tmp_path / "later.jsonl", 40, 10)
    pb = open_pb(home)
    pb.ingest([tmp_path / "first.jsonl"])
    pb.update_index(embed=False)  # keyword only: the servers never load a model here
    pb.close()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = cli_process(home, "serve", "--port", str(port), "--workers", "2", "--no-access-log")

    def up():
        try:
            return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, 90, "the server", proc, 0.2)

    def get(path: str, **params) -> httpx.Response:
        with httpx.Client(timeout=30) as c:  # a new connection each time: any worker may accept it
            r = c.get(base + path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r

    pids: set[str] = set()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(10):
            rs = pool.map(lambda _: get("/api/v1/search", q="neural networks", limit=5), range(16))
            pids |= {r.headers["x-paperboy-worker"] for r in rs}
            if len(pids) == 2:
                break
    children = {str(c.pid) for c in psutil.Process(proc.pid).children(recursive=True)}
    assert len(pids) == 2 and pids <= children, (pids, children)
    assert "<html" in get("/").text.lower()

    write_slice(arxiv_shards[5], home / "inbox" / "later.jsonl", 40, 10)
    res = run_worker(home, "--no-embed")
    assert res.returncode == 0, res.stderr
    target = later[4]
    seen_by: set[str] = set()

    def found() -> bool:
        r = get("/api/v1/search", q=target["title"], limit=3)
        if r.json()["data"] and r.json()["data"][0]["id"] == target["id"]:
            seen_by.add(r.headers["x-paperboy-worker"])
        return seen_by == pids

    wait_for(found, 60, "the new paper in both server processes", proc, 0.05)
    assert target["title"][:30] in get(f"/papers/{target['id']}").text

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    err = proc.stderr.read().decode()
    assert "with 2 worker processes" in err and "run `paperboy worker`" in err
    assert not [pid for pid in map(int, pids) if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_digest_check_minutes_help_names_both_processes_that_use_it():
    from click.testing import CliRunner

    from paperboy.cli import main

    help_text = Settings.model_fields["digest_check_minutes"].description
    assert "paperboy worker" in help_text and "paperboy serve" in help_text
    out = CliRunner().invoke(main, ["worker", "--help"]).output
    assert "PAPERBOY_DIGEST_CHECK_MINUTES" in out
