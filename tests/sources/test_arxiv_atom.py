"""arXiv API Atom documents parsed with feedparser."""

import io
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import arxiv_atom
from tests.sources.atom_docs import ENTRY, ERROR, HEAD, feed

OLD_STYLE = """  <entry>
    <id>http://arxiv.org/abs/hep-ex/0307015v1</id>
    <published>2003-07-07T13:46:39-04:00</published>
    <updated>2003-07-07T13:46:39-04:00</updated>
    <title>Multi-Electron Production at High Transverse Momenta in ep Collisions at
  HERA</title>
    <summary>  Multi-electron production is studied at high electron transverse momentum
in positron- and electron-proton collisions using the H1 detector at HERA.
</summary>
    <author><name>H1 Collaboration</name></author>
    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Eur.Phys.J. C31 (2003) 17-29</arxiv:journal_ref>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1140/epjc/s2003-01326-x</arxiv:doi>
    <link href="http://arxiv.org/abs/hep-ex/0307015v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/hep-ex/0307015v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-ex" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-ex" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"""


def run(data: bytes, origin: str = "query.atom"):
    out = list(arxiv_atom.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def doc(*entries: str, total: int = 2) -> bytes:
    return (HEAD.format(start=0, n=len(entries), total=total) + "".join(entries) + "</feed>\n").encode()


def test_entries():
    entry = ENTRY.format(
        id="2401.01234",
        v=2,
        title="Attention on $x&lt;y$:\n  A Study of &lt;b&gt;Things&lt;/b&gt;",
        summary='  We study $a&lt;b$ and $c&gt;d$ in Schr\\"odinger\nmodels.\n',
    )
    (a, b), rejected = run(doc(entry, OLD_STYLE))
    assert rejected == []
    assert (a.arxiv_id, a.version, a.title) == ("2401.01234", 2, "Attention on $x<y$: A Study of Things")
    assert a.abstract == "We study $a<b$ and $c>d$ in Schrödinger models."
    assert a.authors == ["Ada Lovelace", "Alan Turing"] and a.categories == ["cs.AI", "cs.LG"]
    assert (a.published, a.updated, a.comment) == (date(2024, 1, 2), date(2024, 1, 5), "12 pages, 3 figures")
    assert (a.abs_url, a.pdf_url) == ("https://arxiv.org/abs/2401.01234", "https://arxiv.org/pdf/2401.01234")
    assert a.source == "arxiv-atom" and a.source_ref == "http://arxiv.org/abs/2401.01234v2"
    assert (b.arxiv_id, b.version, b.categories, b.authors) == ("hep-ex/0307015", 1, ["hep-ex"], ["H1 Collaboration"])
    assert b.title == "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    assert (b.journal_ref, b.doi, b.published) == (
        "Eur.Phys.J. C31 (2003) 17-29",
        "10.1140/epjc/s2003-01326-x",
        date(2003, 7, 7),
    )


def test_empty_results_and_empty_file():
    assert run(feed([], total=0)) == ([], [])
    assert arxiv_atom.page_info(feed([], total=0)) == (0, 0)
    assert arxiv_atom.page_info(feed(["2401.00001"], total=40)) == (40, 1)
    assert run(b"") == ([], [])


def test_api_error_feed_raises_with_arxiv_message():
    with pytest.raises(SourceError, match="arXiv API error: incorrect id format for 1234.12345"):
        run(ERROR.encode())
    assert arxiv_atom.api_error(ERROR.encode()) == "incorrect id format for 1234.12345"
    assert arxiv_atom.api_error(feed(["2401.00001"])) is None


def test_entry_without_title_and_truncated_xml():
    no_title = ENTRY.format(id="2401.00009", v=1, title="", summary="x")
    good = ENTRY.format(id="2401.00010", v=1, title="Fine", summary="x")
    papers, rejected = run(doc(no_title, good))
    assert [p.arxiv_id for p in papers] == ["2401.00010"]
    assert rejected == [Rejected("query.atom:entry 1", "missing title")]
    cut = doc(good, good)[:-300]
    papers, rejected = run(cut)
    assert papers[0].title == "Fine" and "not well-formed XML" in rejected[-1].reason


def test_undeclared_latin1_bytes():
    data = doc(ENTRY.format(id="2401.00011", v=1, title="Caf\xe9 Society", summary="x"), total=1)
    (p,), _ = run(data.replace("Caf\xe9".encode(), b"Caf\xe9"))
    assert p.title == "Café Society" and p.arxiv_id == "2401.00011"  # feedparser falls back to cp1252


def test_not_atom():
    with pytest.raises(SourceError, match="query.atom is not an Atom feed"):
        run(b'{"id": "2401.01234"}\n')


def test_sniff():
    assert arxiv_atom.sniff(feed(["2401.00001"])) and arxiv_atom.sniff(ERROR.encode())
    assert not arxiv_atom.sniff(b"<html><body>hi</body></html>")
    assert not arxiv_atom.sniff(b"@article{x, title={<feed>}}")
