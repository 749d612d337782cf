"""Registry, format detection on each format's sample, opening plain and gzipped inputs."""

import gzip
import json
import random

import pytest

from paperboy.models import Paper, SourceError
from paperboy.sources import FORMATS, arxiv_jsonl, detect_format, open_input, read_head
from tests.sources.atom_docs import ERROR, feed
from tests.sources.test_arxiv_oai import SNAPSHOT
from tests.sources.test_bibtex import BIB
from tests.sources.test_hf_daily import DAILY


def test_registry():
    assert set(FORMATS) == {"hf-page", "arxiv-jsonl", "arxiv-oai", "arxiv-oai-pmh", "arxiv-atom", "hf-daily", "bibtex"}
    for name, module in FORMATS.items():
        assert module.NAME == name and callable(module.sniff) and callable(module.parse)


def test_detect_real_files(shared_dir):
    page = shared_dir / "corpus" / "hf-papers-search-page.txt"
    shard = shared_dir / "corpus" / "arxiv-cs-2025-2026" / "papers-2025-03.jsonl.gz"
    assert detect_format(read_head(page), page.name) == "hf-page"
    head = read_head(shard)
    assert len(head) == 64 * 1024 and head.startswith(b'{"id": "2503.')  # gunzipped
    assert detect_format(head, shard.name) == "arxiv-jsonl"


@pytest.mark.parametrize(
    "name, sample",
    [
        ("arxiv-oai", SNAPSHOT),
        ("arxiv-atom", feed(["2401.00001"])),
        ("arxiv-atom", ERROR.encode()),
        ("hf-daily", json.dumps(DAILY, indent=2).encode()),
        ("hf-daily", json.dumps(DAILY).encode()),
        ("bibtex", BIB.encode()),
        ("hf-page", b"Title One\n\n" + b"An abstract sentence. " * 20 + b"\n\nTitle Two\n\n" + b"More text. " * 30),
    ],
)
def test_detect_samples(name, sample):
    assert detect_format(sample[:65536], "whatever") == name
    assert [n for n, m in FORMATS.items() if m.sniff(sample[:65536])] == [name]  # no two formats claim it


def test_detect_failures_and_empty_files():
    with pytest.raises(SourceError, match=r"could not detect the format of data.bin; pass --format"):
        detect_format(b"\x00\x01\x02binary", "data.bin")
    with pytest.raises(SourceError, match="pass --format"):
        detect_format(b"", "mystery")
    assert detect_format(b"", "refs.bib") == "bibtex"
    assert detect_format(b"\n", "x.jsonl.gz") == "arxiv-jsonl"


def _jsonl(n: int) -> bytes:
    rnd = random.Random(42)  # incompressible-ish text so a cut lands mid-file
    return b"".join(
        json.dumps(
            {
                "id": f"2503.{i:05d}",
                "title": f"Paper {i}",
                "authors": ["A B"],
                "categories": ["cs.CV"],
                "summary": " ".join(str(rnd.random()) for _ in range(30)),
                "crawl_date": "2025-03-18",
            }
        ).encode()
        + b"\n"
        for i in range(n)
    )


def test_open_input_gunzips_by_magic_not_extension(tmp_path):
    data = _jsonl(10)
    (tmp_path / "plain.jsonl").write_bytes(data)
    (tmp_path / "zipped.dat").write_bytes(gzip.compress(data))
    for name in ("plain.jsonl", "zipped.dat"):
        with open_input(tmp_path / name) as (stream, origin):
            assert origin == name and stream.read() == data
        assert read_head(tmp_path / name, 100) == data[:100]


def test_truncated_gzip_yields_records_then_eof(tmp_path):
    blob = gzip.compress(_jsonl(2000))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    head = read_head(path)  # tolerates the cut
    assert detect_format(head, path.name) == "arxiv-jsonl"
    seen = []
    with pytest.raises(EOFError):  # the pipeline, not the parser, turns this into "truncated"
        with open_input(path) as (stream, origin):
            for item in arxiv_jsonl.parse(stream, origin):
                seen.append(item)
    assert len(seen) > 500 and all(isinstance(p, Paper) for p in seen)
    assert seen[0].arxiv_id == "2503.00000" and seen[0].source_ref == "cut.jsonl.gz:1"


def test_read_head_of_tiny_and_empty_files(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "empty.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "garbage.gz").write_bytes(b"\x1f\x8bnot really gzip")
    assert read_head(tmp_path / "empty") == b"" == read_head(tmp_path / "empty.gz")
    assert read_head(tmp_path / "garbage.gz") == b""
