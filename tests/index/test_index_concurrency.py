"""Index files shared between processes: one updater at a time, readers never wait, fail or see half an update."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from paperboy.index.indexes import IndexBusy, Indexes
from paperboy.index.lexical import LexicalIndex
from paperboy.index.vectors import VectorIndex
from paperboy.models import Paper

REPO = Path(__file__).resolve().parents[2]


def child(code: str, *args: str) -> subprocess.Popen:
    """A Python child process running `code` (sys.argv[1:] = args), stdout piped."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def paper(i: int) -> Paper:
    return Paper(
        id=f"2601.{i:05d}",
        title=f"Sparse attention study number {i}",
        abstract="Transformers " * 20,
        authors=["Ada Lovelace"],
        categories=["cs.CL"],
    )


def test_lexical_reader_in_another_process_sees_commits_and_never_fails(tmp_path):
    d = tmp_path / "lexical"
    reader = LexicalIndex(d)  # opened before any write, never reopened
    writer = child(
        """
        import sys, time
        from pathlib import Path
        from paperboy.index.lexical import LexicalIndex
        from paperboy.models import Paper
        lx = LexicalIndex(Path(sys.argv[1]))
        for k in range(8):
            lx.add([Paper(id=f"2601.{k * 100 + i:05d}", title=f"Sparse attention study number {k * 100 + i}",
                          abstract="Transformers " * 20, authors=["Ada Lovelace"], categories=["cs.CL"])
                    for i in range(100)])
            time.sleep(0.1)
        print("done", flush=True)
    """,
        d,
    )
    counts, errors = [], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            hits = reader.search("sparse attention", limit=1000)
            n = reader.count()
            assert len(hits) == len(set(hits.ids)) and len(hits) <= 800
            assert len(reader.search('author:"Ada Lovelace" cat:cs.CL', limit=1000)) <= 800  # filter-only query
            counts.append(n)
        except Exception as e:
            errors.append(repr(e))
        if counts and counts[-1] == 800:
            break
        time.sleep(0.005)
    assert writer.wait(timeout=60) == 0, writer.stderr.read()
    assert errors == []
    assert counts[-1] == 800, counts[-5:]  # the reader caught up by itself (tantivy reloads on commit)
    assert counts == sorted(counts) and set(counts) <= {100 * k for k in range(9)}  # whole commits only


def test_lexical_add_after_another_process_wrote_does_not_duplicate(tmp_path):
    d = tmp_path / "lexical"
    mine = LexicalIndex(d)  # empty as far as this process has seen
    other = child(
        """
        import sys
        from pathlib import Path
        from paperboy.index.lexical import LexicalIndex
        from paperboy.models import Paper
        LexicalIndex(Path(sys.argv[1])).add([Paper(id="2601.00001", title="One", abstract="x")])
    """,
        d,
    )
    assert other.wait(timeout=60) == 0, other.stderr.read()
    mine.add([paper(1)])  # the same id: must replace, not add a second document
    assert mine.count() == 1


VECTOR_WRITER = """
    import sys, time
    import numpy as np
    from pathlib import Path
    from paperboy.index.indexes import Indexes
    from paperboy.index.vectors import VectorIndex
    home = Path(sys.argv[1])
    idx = Indexes(home)
    vec = VectorIndex(home / "dense" / "m", model_name="m", dim=8)
    rng = np.random.default_rng(0)
    for gen in range(1, 31):
        vec.upsert([f"p{gen}-{i}" for i in range(20)], ["h"] * 20, rng.normal(size=(20, 8)))
        vec.save()  # a new generation of files, then an atomic manifest switch
        if gen % 5 == 0:  # a finished update: readers reopen on the new seq
            idx._set_manifest(dense={"default": {"seq": gen, "count": len(vec), "model": "m", "dim": 8}})
    print("done", flush=True)
"""


def test_vector_readers_see_whole_generations_and_reopen_without_the_model(tmp_path):
    home = tmp_path / "index"
    idx = Indexes(home)
    writer = child(VECTOR_WRITER, home)
    seen, errors = [], []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (home / "dense" / "m" / "manifest.json").exists():
                raw = VectorIndex(home / "dense" / "m", model_name="m", dim=8)  # any generation, read whole
                assert len(raw) % 20 == 0 and len(set(raw.ids)) == len(raw)
            if idx.dense_ready():
                finished = idx.manifest()["dense"]["default"]["count"]
                vec = idx.vectors
                n = len(vec)
                # A reopen reads the newest whole generation, which may already hold checkpoints of the next
                # update: never less than the finished update it reopened for, never half a save.
                assert n % 20 == 0 and n >= finished and len(set(vec.ids)) == n
                hits = vec.search(np.ones(8, dtype=np.float32), 5)
                assert len(hits) == 5
                seen.append(n)
        except Exception as e:
            errors.append(repr(e))
        if writer.poll() is not None and seen and seen[-1] == 600:
            break
        time.sleep(0.002)
    assert writer.wait(timeout=10) == 0, writer.stderr.read()
    assert errors == []
    assert seen and seen[-1] == 600 and seen == sorted(seen)
    assert idx._embedder is None  # vectors opened from the manifest's model and dim, no model loaded
    # Old generations are pruned: only the current one and the one before remain.
    assert len(list((home / "dense" / "m").glob("vectors-*.f16"))) <= 2


HOLD_LOCK = """
    import sys, time
    from pathlib import Path
    from paperboy.index.indexes import Indexes
    with Indexes(Path(sys.argv[1])).updating():
        print("held", flush=True)
        sys.stdin.readline()  # holds the lock until the test writes a line (or closes stdin)
"""


def test_one_updater_at_a_time_across_processes(tmp_path):
    home = tmp_path / "index"
    holder = child(HOLD_LOCK, home)
    assert holder.stdout.readline().strip() == "held"
    idx = Indexes(home)
    no_changes = lambda since: iter(())  # noqa: E731
    # A web request never blocks: the holder keeps the lock until told, so waiting would hang here.
    with pytest.raises(IndexBusy):
        idx.update(no_changes, 0, embed=False, wait=False)
    waited = []

    def release() -> None:  # called once the updater finds the lock taken: only then let the holder go
        waited.append(holder.poll())
        holder.stdin.write("go\n")
        holder.stdin.flush()

    rep = idx.update(no_changes, 0, embed=False, on_wait=release)
    assert waited == [None] and rep.lexical == 0  # it waited while the holder still ran, then updated
    assert holder.wait(timeout=60) == 0
    # A killed holder releases the lock with its process.
    holder = child(HOLD_LOCK, home)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with idx.updating(wait=False):
        pass


def test_dense_manifest_records_the_dimension(tmp_path):
    """The manifest entry carries model and dim, which is what lets readers skip loading the model."""
    from paperboy.index.indexes import model_slug

    home = tmp_path / "index"
    vec = VectorIndex(home / "dense" / model_slug("m/x"), model_name="m/x", dim=4)
    vec.upsert(["a"], ["h"], np.ones((1, 4)))
    vec.save()
    Indexes(home)._set_manifest(dense={"default": {"seq": 1, "count": 1, "model": "m/x"}})  # an older manifest: no dim
    idx = Indexes(home)
    assert idx.dense_ready() and len(idx.vectors) == 1 and idx._embedder is None
    assert json.loads((home / "manifest.json").read_text())["dense"]["default"]["model"] == "m/x"
