"""Paced ingest (`paperboy worker --ingest-share`): pauses after each committed batch, short transactions."""

from __future__ import annotations

import json

import pytest

from paperboy.store import Store
from paperboy.store import ingest as ingest_mod
from paperboy.store.ingest import PACED_BATCH, Ingester


def _jsonl(path, n: int):
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"2503.{i:05d}",
                    "title": f"Paced paper {i}",
                    "authors": ["A. Author"],
                    "categories": ["cs.CL"],
                    "summary": "An abstract.",
                    "published": "2025-03-01",
                }
            )
            + "\n"
            for i in range(n)
        )
    )
    return path


@pytest.mark.parametrize("share", [1.0, 0.5, 0.25])
def test_paced_ingest_pauses_after_each_batch_in_proportion(tmp_path, database_url, monkeypatch, share):
    pauses, commits = [], []
    monkeypatch.setattr(ingest_mod.time, "sleep", pauses.append)
    st = Store(database_url)
    real_upsert = st.upsert
    monkeypatch.setattr(st, "upsert", lambda batch, *rest: commits.append(len(batch)) or real_upsert(batch, *rest))
    try:
        [rep] = Ingester(st, batch_size=2000, share=share).ingest_files([_jsonl(tmp_path / "p.jsonl", 600)])
        assert rep.added == 600 and st.count() == 600  # pacing loses nothing
    finally:
        st.close()
    if share == 1.0:
        assert commits == [600] and pauses == []  # full speed: one transaction, no pause
    else:
        assert commits == [PACED_BATCH, PACED_BATCH, 600 - 2 * PACED_BATCH]  # short transactions
        assert len(pauses) == len(commits) and all(p > 0 for p in pauses)


def test_share_out_of_range_is_refused(database_url):
    st = Store(database_url)
    try:
        for bad in (0, -0.5, 1.5):
            with pytest.raises(ValueError, match="share"):
                Ingester(st, share=bad)
    finally:
        st.close()


@pytest.mark.parametrize("option", ["--ingest-share", "--interval", "--settle"])
@pytest.mark.parametrize("bad", ["-0.01", "-1", "1e6", "nan", "", "lots", "1e309"])
def test_worker_refuses_bad_numbers_before_starting(tmp_path, option, bad):
    from click.testing import CliRunner

    from paperboy.cli import main

    res = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "worker", "--once", option, bad])
    assert res.exit_code == 2 and option in res.output, res.output
    assert not (tmp_path / "home" / "inbox").exists()  # refused before doing anything
