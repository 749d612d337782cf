"""arXiv listing JSON Lines: a real shard from ../shared plus malformed input."""

import gzip
import io
import json
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import arxiv_jsonl, open_input

RECORD = {
    "id": "2503.11685",
    "title": "CORDIC Is All You Need",
    "authors": ["Omkar Kokane", "Adam Teman"],
    "categories": ["cs.AR", "cs.CV", "eess.IV"],
    "comment": None,
    "summary": "Artificial intelligence necessitates adaptable hardware accelerators for\nefficient "
    "high-throughput million operations, such as $tanh$.",
    "abs": "https://arxiv.org/abs/2503.11685",
    "pdf": "https://arxiv.org/pdf/2503.11685",
    "crawl_date": "2025-03-18",
}


def line(**changes) -> bytes:
    return json.dumps({**RECORD, **changes}).encode() + b"\n"


def run(data: bytes, origin: str = "p.jsonl"):
    out = list(arxiv_jsonl.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def test_real_shard_parses_completely(shared_dir):
    shard = shared_dir / "corpus" / "arxiv-cs-2025-2026" / "papers-2025-05.jsonl.gz"
    with gzip.open(shard, "rt", encoding="utf-8") as f:
        expected = sum(1 for raw in f if raw.strip())
    with open_input(shard) as (stream, origin):
        out = list(arxiv_jsonl.parse(stream, origin))
    assert len(out) == expected > 5000
    assert all(isinstance(p, Paper) for p in out)
    qwen = next(p for p in out if p.arxiv_id == "2505.09388")
    assert qwen.title == "Qwen3 Technical Report" and qwen.categories[0] == "cs.CL"
    assert qwen.authors[:2] == ["An Yang", "Anfeng Li"] and qwen.listed == date(2025, 5, 15)
    assert qwen.source_ref.startswith("papers-2025-05.jsonl.gz:") and qwen.source == "arxiv-jsonl"
    assert not any("\n" in p.title or "\n" in p.abstract or "  " in p.abstract for p in out)
    assert all(p.title and p.abstract and p.authors and p.categories and p.listed for p in out)


def test_record_fields():
    (p,), _ = run(line(comment="Accepted at\n  CVPR 2025", id="2503.11685v3"))
    assert p.title == "CORDIC Is All You Need" and p.authors == ["Omkar Kokane", "Adam Teman"]
    assert p.abstract == (
        "Artificial intelligence necessitates adaptable hardware accelerators for efficient "
        "high-throughput million operations, such as $tanh$."
    )
    assert (p.arxiv_id, p.version, p.categories, p.comment) == (
        "2503.11685",
        3,
        ["cs.AR", "cs.CV", "eess.IV"],
        "Accepted at CVPR 2025",
    )
    assert (p.listed, p.published, p.abs_url) == (date(2025, 3, 18), None, "https://arxiv.org/abs/2503.11685")
    assert p.source_ref == "p.jsonl:1"


def test_bad_lines_are_reported_and_the_rest_parsed():
    data = (
        line()
        + b"\n"
        + b'{"id": "2503.00001", "title": "broken\n'
        + line(id="2503.00002")
        + "é".encode("latin-1")
        + b"\n"
        + line(id="2503.00003", title=None)
        + line(id="2503.00004", title=7)
        + line(id="nope")
        + line(id="2503.00005", authors="A, B")
        + b"[1, 2]\n"
        + line(id="2503.00006")
    )
    papers, rejected = run(data)
    assert [p.arxiv_id for p in papers] == ["2503.11685", "2503.00002", "2503.00006"]
    assert [(r.location, r.reason.split(" (")[0].split(":")[0]) for r in rejected] == [
        ("p.jsonl:3", "invalid JSON"),
        ("p.jsonl:5", "not valid UTF-8"),
        ("p.jsonl:6", "missing title"),
        ("p.jsonl:7", "field 'title' should be a string, got int"),
        ("p.jsonl:8", "missing or invalid arXiv id 'nope'"),
        ("p.jsonl:9", "field 'authors' should be a list of strings"),
        ("p.jsonl:10", "expected a JSON object, got list"),
    ]


def test_empty_file_and_blank_lines():
    assert run(b"") == ([], [])
    assert run(b"\n  \n\n") == ([], [])


def test_huge_abstract_is_truncated_not_rejected():
    papers, rejected = run(line(summary="x" * 10_000_000))
    assert rejected == [] and len(papers[0].abstract) == 100_000


def test_html_and_latex_in_fields():
    (p,), _ = run(
        line(
            title='Fast <i>k</i>-means &amp; $O(n<m)$ for\n  Schr\\"odinger',
            summary='We show $a<b$ and $c>d$. <p>Second</p> na\\"{\\i}ve',
        )
    )
    assert p.title == "Fast k-means & $O(n<m)$ for Schrödinger"
    assert p.abstract == "We show $a<b$ and $c>d$. Second naïve"


def test_other_jsonl_is_not_this_format():
    oai = json.dumps({"id": "0704.0001", "title": "T", "abstract": "A", "versions": []}).encode() + b"\n"
    with pytest.raises(SourceError, match=r"does not look like arxiv-jsonl.*p.jsonl:1"):
        run(oai * 30)
    with pytest.raises(SourceError, match="does not look like arxiv-jsonl"):
        run(b"hello world\nthis is text\n")


def test_sniff():
    assert arxiv_jsonl.sniff(line())
    assert arxiv_jsonl.sniff(line(summary="y" * 100_000)[:65536])  # a first line cut off by the head
    assert not arxiv_jsonl.sniff(b'{"id": "0704.0001", "abstract": "x", "versions": []}\n')
    assert not arxiv_jsonl.sniff(b"[" + line() + b"]")
