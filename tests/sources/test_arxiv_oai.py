"""Kaggle arXiv OAI snapshot lines, in the real field layout (old- and new-style ids)."""

import io
import json
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import arxiv_jsonl, arxiv_oai

# The first record is the snapshot's first line (abstract abridged); the others follow its layout.
SNAPSHOT = rb"""{"id":"0704.0001","submitter":"Pavel Nadolsky","authors":"C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan","title":"Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies","comments":"37 pages, 15 figures; published version","journal-ref":"Phys.Rev.D76:013009,2007","doi":"10.1103/PhysRevD.76.013009","report-no":"ANL-HEP-PR-07-12","categories":"hep-ph","license":null,"abstract":"  A fully differential calculation in perturbative quantum chromodynamics is\npresented for the production of massive photon pairs at hadron colliders. All\nnext-to-leading order perturbative contributions from quark-antiquark,\ngluon-(anti)quark, and gluon-gluon subprocesses are included.\n","versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"},{"version":"v2","created":"Tue, 24 Jul 2007 20:10:27 GMT"}],"update_date":"2008-11-13","authors_parsed":[["Bal\u00e1zs","C.",""],["Berger","E. L.",""],["Nadolsky","P. M.",""],["Yuan","C. -P.",""]]}
{"id":"hep-th/9901001","submitter":"Jane Roe","authors":"J. Roe and R. Doe","title":"Notes on $N=2$ supersymmetric gauge theories in Schr\\\"odinger picture","comments":"12 pages, LaTeX","journal-ref":null,"doi":null,"report-no":null,"categories":"hep-th gr-qc","license":null,"abstract":"  We revisit $N=2$ theories with $g<1$.\n","versions":[{"version":"v1","created":"Fri, 1 Jan 1999 10:00:00 GMT"},{"version":"v2","created":"Mon, 8 Feb 1999 10:00:00 GMT"},{"version":"v3","created":"Tue, 6 Apr 1999 10:00:00 GMT"}],"update_date":"2008-02-03","authors_parsed":[["Roe","J.",""],["Doe","R.",""]]}
{"id":"math/0309136","submitter":"John Smith","authors":"John Smith Jr","title":"Knot invariants","comments":null,"journal-ref":null,"doi":null,"report-no":null,"categories":"math.GT math.AG","license":null,"abstract":"Short.","versions":[{"version":"v1","created":"Mon, 8 Sep 2003 12:00:00 GMT"}],"update_date":"2007-05-23","authors_parsed":[["Smith","John","Jr"]]}
{"id":"2401.01234","submitter":"A. Smith","authors":"A. Smith (MIT, USA), B. Jones and C. Lee","title":"A modern paper","comments":null,"journal-ref":null,"doi":null,"report-no":null,"categories":"cs.CL cs.AI","license":"http://creativecommons.org/licenses/by/4.0/","abstract":"Text.","versions":[{"version":"v1","created":"Tue, 2 Jan 2024 18:59:59 GMT"}],"update_date":"2024-01-03"}
"""


def run(data: bytes, origin: str = "snapshot.json"):
    out = list(arxiv_oai.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def test_snapshot_records():
    papers, rejected = run(SNAPSHOT)
    assert rejected == []
    a, b, c, d = papers
    assert a.arxiv_id == "0704.0001" and a.version == 2
    assert a.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert a.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert (a.published, a.updated) == (date(2007, 4, 2), date(2007, 7, 24))
    assert (a.doi, a.journal_ref, a.comment) == (
        "10.1103/PhysRevD.76.013009",
        "Phys.Rev.D76:013009,2007",
        "37 pages, 15 figures; published version",
    )
    assert a.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")
    assert a.categories == ["hep-ph"] and a.source == "arxiv-oai" and a.source_ref == "snapshot.json:1"
    assert (b.arxiv_id, b.version, b.categories) == ("hep-th/9901001", 3, ["hep-th", "gr-qc"])
    assert (b.published, b.updated) == (date(1999, 1, 1), date(1999, 4, 6))
    assert b.title == "Notes on $N=2$ supersymmetric gauge theories in Schrödinger picture"
    assert b.abstract == "We revisit $N=2$ theories with $g<1$."
    assert (c.arxiv_id, c.authors, c.categories) == ("math/0309136", ["John Smith Jr"], ["math.GT", "math.AG"])
    assert d.authors == ["A. Smith", "B. Jones", "C. Lee"]  # from the string, affiliations dropped
    assert d.with_defaults().abs_url == "https://arxiv.org/abs/2401.01234"


def test_bad_lines():
    lines = SNAPSHOT.splitlines(keepends=True)
    data = (
        lines[0]
        + b"{not json}\n"
        + b"caf\xe9\n"
        + b'{"id": "x1", "abstract": "a", "title": "t"}\n'
        + b'{"id": "0704.0002", "abstract": "a", "title": "t", "versions": "v1"}\n'
        + lines[1]
    )
    papers, rejected = run(data)
    assert [p.arxiv_id for p in papers] == ["0704.0001", "hep-th/9901001"]
    assert [r.location for r in rejected] == [f"snapshot.json:{n}" for n in (2, 3, 4, 5)]
    assert "invalid JSON" in rejected[0].reason and "not valid UTF-8" in rejected[1].reason
    assert "arXiv id 'x1'" in rejected[2].reason and "'versions'" in rejected[3].reason


def test_empty_and_huge():
    assert run(b"") == ([], [])
    rec = json.loads(SNAPSHOT.splitlines()[0])
    rec["abstract"] = "<b>bold</b> " + "long " * 2_000_000
    (p,), _ = run(json.dumps(rec).encode())
    assert p.abstract.startswith("bold long") and len(p.abstract) <= 100_000


def test_listing_jsonl_is_not_oai():
    listing = b'{"id": "2503.11685", "title": "T", "summary": "S", "crawl_date": "2025-03-18"}\n'
    with pytest.raises(SourceError, match="does not look like arxiv-oai"):
        run(listing * 3)


def test_sniff_tells_the_two_jsonl_formats_apart():
    listing = (
        b'{"id": "2503.11685", "title": "T", "authors": [], "summary": "S", "abs": "u", "crawl_date": "2025-03-18"}\n'
    )
    assert arxiv_oai.sniff(SNAPSHOT) and not arxiv_jsonl.sniff(SNAPSHOT)
    assert arxiv_jsonl.sniff(listing) and not arxiv_oai.sniff(listing)
