"""Hugging Face Papers page text dump: header, then title line / blank / abstract line per paper."""

import io

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import hf_page

HEADER = (
    b"new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\nMar 14\n\n"
)
ABSTRACT = b"We study things. " * 30  # longer than a title can be


def run(data: bytes, origin: str = "page.txt"):
    out = list(hf_page.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def test_real_page_has_111_papers(shared_dir):
    page = shared_dir / "corpus" / "hf-papers-search-page.txt"
    with open(page, "rb") as f:
        papers, rejected = run(f.read(), page.name)
    assert len(papers) == 111 and rejected == []
    first, last = papers[0], papers[-1]
    assert first.title == "CLIP with Quality Captions: A Strong Pretraining for Vision Tasks"
    assert first.abstract.startswith("CLIP models perform remarkably well on zero-shot classification")
    assert first.source == "hf-page" and first.source_ref == "hf-papers-search-page.txt:11"
    assert last.title == "Adapt-infty: Scalable Lifelong Multimodal Instruction Tuning via Dynamic Data Selection"
    assert last.abstract.startswith("Visual instruction datasets from various distributors")
    assert last.abstract.endswith("using only a fraction of the original datasets.")
    assert all(p.abstract and len(p.abstract) > len(p.title) for p in papers)
    assert all(p.authors == [] and p.arxiv_id is None for p in papers)
    assert len({p.title for p in papers}) == 111


def test_header_does_not_eat_first_paper_and_is_optional():
    body = b"Short Title\n\n" + ABSTRACT + b"\n\nSecond Title\n\n" + ABSTRACT + b"\n"
    for data in (HEADER + body, body, b"new\n\n" + body):
        papers, rejected = run(data)
        assert [p.title for p in papers] == ["Short Title", "Second Title"], data[:40]
        assert rejected == []


def test_title_without_abstract():
    data = HEADER + b"A\n\n" + ABSTRACT + b"\n\nLonely Title\n\nB\n\n" + ABSTRACT + b"\n\nLast Title Without Abstract\n"
    papers, rejected = run(data)
    assert [p.title for p in papers] == ["A", "B"]
    assert [r.location for r in rejected] == ["page.txt:15", "page.txt:21"]
    assert "title without an abstract" in rejected[0].reason


def test_short_abstract_pairs_with_its_title():
    papers, _ = run(b"Title One\n\nA short abstract.\n\nTitle Two\n\n" + ABSTRACT)
    assert [(p.title, p.abstract[:17]) for p in papers] == [
        ("Title One", "A short abstract."),
        ("Title Two", "We study things. "),
    ]


def test_bad_bytes_empty_and_crlf():
    papers, rejected = run(HEADER + b"Caf\xe9 Title\n\n" + ABSTRACT + b"\n\nGood\r\n\r\n" + ABSTRACT + b"\r\n")
    assert rejected[0].location == "page.txt:11" and "not valid UTF-8" in rejected[0].reason
    assert [p.title for p in papers] == ["Good"]  # the orphaned abstract is reported, not glued on
    assert run(b"") == ([], [])


def test_not_a_page():
    with pytest.raises(SourceError, match="not a Hugging Face Papers page"):
        run(b'[{"paper": {"id": "2401.01234"}}]')
    with pytest.raises(SourceError, match="does not look like hf-page"):
        run(b"\n\n".join([ABSTRACT] * 25))


def test_sniff():
    assert hf_page.sniff(HEADER + b"T\n\n" + ABSTRACT)
    assert hf_page.sniff(b"T1\n\n" + ABSTRACT + b"\n\nT2\n\n" + ABSTRACT)
    assert hf_page.sniff(b"[Re] Reproducing X\n\n" + ABSTRACT + b"\n\nT2\n\n" + ABSTRACT)
    assert not hf_page.sniff(b"just one line\n")
    assert not hf_page.sniff(b'{"id": "2401.01234", "summary": "x"}\n')
