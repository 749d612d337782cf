"""`paperboy ingest/stats/show/export` end to end on real sample files and hostile inputs.

Runs on SQLite, and on PostgreSQL with --db=postgres (the store URL goes in PAPERBOY_DATABASE_URL).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 3, 4


@pytest.fixture
def ingest_json(cli):
    def run(home: Path, *args: str) -> tuple[int, dict, str]:
        code, out, err = cli(home, "ingest", "--json", "--no-index", *args)
        return code, json.loads(out), err

    return run


def test_hf_page_ingests_111_papers_once(tmp_path, ingest_json, cli, hf_page):
    code, first, _ = ingest_json(tmp_path, str(hf_page))
    assert code == EXIT_OK and first["added"] == 111 and first["rejected"] == 0
    code, again, _ = ingest_json(tmp_path, str(hf_page))
    assert code == EXIT_OK and (again["added"], again["updated"], again["unchanged"]) == (0, 0, 111)
    _, out, _ = cli(tmp_path, "stats", "--json")
    assert json.loads(out)["papers"] == 111


def test_full_arxiv_sample_ingests_74728_and_reingest_changes_nothing(tmp_path, ingest_json, cli, arxiv_shards):
    assert len(arxiv_shards) == 17
    code, first, err = ingest_json(tmp_path, *map(str, arxiv_shards))
    assert code == EXIT_OK, err
    assert first["added"] == 74_728 and first["rejected"] == 0
    _, out, _ = cli(tmp_path, "stats", "--json")
    assert json.loads(out)["papers"] == 74_728
    code, again, _ = ingest_json(tmp_path, *map(str, arxiv_shards))
    assert code == EXIT_OK and again["added"] == 0 and again["updated"] == 0
    _, out, _ = cli(tmp_path, "show", "--json", "2505.09388")
    assert json.loads(out)["title"] == "Qwen3 Technical Report"


def test_show_accepts_versions_and_urls_and_reports_unknown_ids(tmp_path, ingest_json, cli, arxiv_shards):
    ingest_json(tmp_path, str(arxiv_shards[-1]))
    first_id = json.loads(gzip.open(arxiv_shards[-1], "rt").readline())["id"]
    for key in (first_id, f"{first_id}v3", f"https://arxiv.org/abs/{first_id}", f"arXiv:{first_id}"):
        code, out, _ = cli(tmp_path, "show", key)
        assert code == EXIT_OK and first_id in out
    code, _, err = cli(tmp_path, "show", "9999.99999")
    assert code == EXIT_FAILED and "no paper" in err


def test_export_jsonl_csv_bibtex_round_trip(tmp_path, ingest_json, cli, hf_page, arxiv_shards):
    ingest_json(tmp_path, str(arxiv_shards[-1]), str(hf_page))
    n = 300 + 111
    _, out, _ = cli(tmp_path, "export", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == n and all(r["title"] for r in rows)
    _, out, _ = cli(tmp_path, "export", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == n
    target = tmp_path / "all.bib"
    code, _, _ = cli(tmp_path, "export", "--format", "bibtex", "-o", str(target))
    lib = bibtexparser.parse_string(target.read_text())
    assert code == EXIT_OK and len(lib.entries) == n and not lib.failed_blocks
    # and what we export, we can ingest again as BibTeX into a fresh store
    code, back, _ = ingest_json(tmp_path / "other", str(target))
    assert code == EXIT_OK and back["added"] == n


@pytest.mark.sqlite_only  # where the default SQLite file lands; PostgreSQL has no file under home
def test_home_from_environment_and_option(tmp_path, subprocess_env, hf_page):
    env = {**subprocess_env(tmp_path), "PAPERBOY_HOME": str(tmp_path / "envhome")}
    subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "ingest", "-q", "--no-index", str(hf_page)],
        env=env,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "envhome" / "paperboy.db").exists()
    # --home after the subcommand works too, and wins over the environment
    subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "stats", "--home", str(tmp_path / "opt")],
        env=env,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "opt" / "paperboy.db").exists()


def test_piped_output_has_no_progress_bar_and_one_summary_line(tmp_path, subprocess_env, arxiv_shards):
    proc = subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "--home", str(tmp_path), "ingest", "--no-index", str(arxiv_shards[0])],
        capture_output=True,
        text=True,
        env=subprocess_env(tmp_path),
    )
    assert proc.returncode == EXIT_OK
    assert proc.stderr == ""
    assert len(proc.stdout.strip().splitlines()) == 1 and "added" in proc.stdout


# --- bad input -------------------------------------------------------------------------


def _jsonl_record(i: int, **kw) -> dict:
    rec = {
        "id": f"2501.{i:05d}",
        "title": f"Paper number {i}",
        "authors": ["A. Author"],
        "categories": ["cs.CL"],
        "comment": None,
        "summary": f"Abstract {i}.",
        "abs": None,
        "pdf": None,
        "crawl_date": "2025-01-02",
    }
    rec.update(kw)
    return rec


def _write_jsonl(path: Path, lines: list) -> Path:
    with open(path, "wb") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else (json.dumps(line) + "\n").encode())
    return path


def test_malformed_records_are_reported_with_location_and_the_rest_goes_in(tmp_path, ingest_json):
    src = _write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            _jsonl_record(1),
            b"{not json\n",
            _jsonl_record(2),
            "Caf\xe9 latin-1\n".encode("latin-1"),
            _jsonl_record(3, title=""),
            _jsonl_record(4),
        ],
    )
    code, rep, err = ingest_json(tmp_path / "h", str(src))
    assert code == EXIT_PARTIAL
    assert rep["added"] == 3 and rep["rejected"] == 3
    assert "mixed.jsonl:2" in err and "mixed.jsonl:4" in err and "mixed.jsonl:5" in err
    assert "Traceback" not in err


def test_duplicate_ids_in_one_file_are_merged_and_reported(tmp_path, ingest_json):
    src = _write_jsonl(tmp_path / "dups.jsonl", [_jsonl_record(1), _jsonl_record(2), _jsonl_record(1)])
    code, rep, err = ingest_json(tmp_path / "h", str(src))
    assert code == EXIT_OK and rep["added"] == 2 and rep["duplicates"] == 1
    assert "dups.jsonl:3" in err and "2501.00001" in err


def test_huge_abstract_html_and_latex(tmp_path, ingest_json, cli):
    src = _write_jsonl(
        tmp_path / "odd.jsonl",
        [
            _jsonl_record(1, summary="x" * (10 << 20)),
            _jsonl_record(
                2,
                title="<b>Bold</b> claims &amp; <script>alert(1)</script>",
                summary="We show $a<b$ and $\\alpha^2$ hold.",
            ),
        ],
    )
    code, rep, _ = ingest_json(tmp_path / "h", str(src))
    assert code == EXIT_OK and rep["added"] == 2
    _, out, _ = cli(tmp_path / "h", "show", "--json", "2501.00002")
    p = json.loads(out)
    assert "<b>" not in p["title"] and "Bold" in p["title"] and "&amp;" not in p["title"]
    assert "$a<b$" in p["abstract"]
    _, out, _ = cli(tmp_path / "h", "show", "--json", "2501.00001")
    assert 0 < len(json.loads(out)["abstract"]) <= 200_000


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_file_is_fine(tmp_path, ingest_json, content):
    src = tmp_path / "empty.jsonl"
    src.write_bytes(content)
    code, rep, _ = ingest_json(tmp_path / "h", "--format", "arxiv-jsonl", str(src))
    assert code == EXIT_OK and rep["added"] == 0


def test_file_not_in_the_claimed_format(tmp_path, ingest_json, hf_page):
    code, rep, err = ingest_json(tmp_path / "h", "--format", "arxiv-jsonl", str(hf_page))
    assert code == EXIT_FAILED and rep["added"] == 0
    assert "arxiv-jsonl" in err and "Traceback" not in err


def test_undetectable_and_missing_files(tmp_path, ingest_json):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 100)
    code, rep, err = ingest_json(tmp_path / "h", str(junk), str(tmp_path / "nope.jsonl"))
    assert code == EXIT_FAILED and "--format" in err and "no such file" in err


def test_wrong_encoding_whole_file(tmp_path, ingest_json):
    src = tmp_path / "utf16.jsonl"
    src.write_text(json.dumps(_jsonl_record(1)) + "\n", encoding="utf-16")
    code, rep, err = ingest_json(tmp_path / "h", "--format", "arxiv-jsonl", str(src))
    assert code in (EXIT_PARTIAL, EXIT_FAILED) and rep["added"] == 0
    assert "Traceback" not in err


def test_truncated_gzip_keeps_what_came_before_and_rerun_completes(tmp_path, ingest_json, cli, arxiv_shards):
    shard = arxiv_shards[0]
    total = sum(1 for _ in gzip.open(shard, "rt"))
    cut = tmp_path / shard.name
    cut.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    code, rep, err = ingest_json(tmp_path / "h", str(cut))
    assert code == EXIT_PARTIAL and "truncated" in err
    assert 0 < rep["added"] < total
    code, rep2, _ = ingest_json(tmp_path / "h", str(shard))
    assert code == EXIT_OK and rep2["added"] == total - rep["added"] and rep2["updated"] == 0
    _, out, _ = cli(tmp_path / "h", "stats", "--json")
    assert json.loads(out)["papers"] == total


def test_every_run_is_recorded(tmp_path, ingest_json, cli, hf_page):
    ingest_json(tmp_path, str(hf_page))
    ingest_json(tmp_path, str(hf_page))
    _, out, _ = cli(tmp_path, "stats", "--json")
    runs = json.loads(out)["runs"]
    assert [(r["added"], r["unchanged"], r["status"]) for r in runs[:2]] == [(0, 111, "ok"), (111, 0, "ok")]
    assert all(r["finished_at"] for r in runs)


def test_usage_errors_exit_2(tmp_path, cli):
    assert cli(tmp_path, "ingest")[0] == 2
    assert cli(tmp_path, "ingest", "--format", "nope", "x")[0] == 2


def test_parsing_in_a_second_process_stores_the_same_rows(tmp_path, new_database_url, monkeypatch):
    """The child parser computes new rows' derived columns ahead; merges, updates and NULs store as in one process."""
    import sqlalchemy as sa

    from paperboy.store import Store
    from paperboy.store import ingest as ingest_mod
    from paperboy.store.ingest import Ingester
    from paperboy.store.schema import paper_authors, paper_categories, papers

    first = _write_jsonl(
        tmp_path / "first.jsonl",
        [
            _jsonl_record(1, authors=["Ada Lovelace", "C. Babbage"]),
            _jsonl_record(2),
            _jsonl_record(1, summary="A newer abstract.", categories=["cs.LG", "cs.CL"]),  # merged in the batch
            _jsonl_record(3, summary="Nul\x00 inside", authors=["Nul\x00 Author"]),
        ],
    )
    second = _write_jsonl(tmp_path / "second.jsonl", [_jsonl_record(2, summary="Changed."), _jsonl_record(4)])
    tables = []
    for min_bytes in (0, 1 << 60):  # parsed in a second process, then in this one
        monkeypatch.setattr(ingest_mod, "PARALLEL_MIN_BYTES", min_bytes)
        st = Store(new_database_url())
        try:
            reports = Ingester(st).ingest_files([first, second])
            assert [(r.added, r.updated, r.unchanged, r.duplicates) for r in reports] == [(3, 0, 0, 1), (1, 1, 0, 0)]
            skip = {"created_at", "modified_at"}
            with st.engine.connect() as conn:
                tables.append(
                    [
                        conn.execute(sa.select(*[c for c in t.c if c.name not in skip]).order_by(*t.primary_key)).all()
                        for t in (papers, paper_authors, paper_categories)
                    ]
                )
        finally:
            st.close()
    assert tables[0] == tables[1] and len(tables[0][0]) == 4
