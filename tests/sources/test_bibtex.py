"""BibTeX via bibtexparser v2, LaTeX to text via pylatexenc."""

import io
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import bibtex

BIB = r"""% exported from a reference manager
@string{jmlr = "Journal of Machine Learning Research"}

@article{mueller2020,
  title = {The {BERT} Model and {\"U}ber-Fast $x<y$ Things},
  author = {M{\"u}ller, J{\"o}rg and Smith, Jr., John and Jane Q. Doe and {Barnes and Noble} and others},
  journal = jmlr,
  year = 2020,
  month = mar,
  doi = {https://doi.org/10.5555/12345},
  abstract = {We study \emph{things} in Fr\'{e}chet spaces, 50\% faster.
              Second line.},
  keywords = {ignored},
}

@misc{vaswani2017attention,
  title={Attention Is All You Need},
  author={Vaswani, Ashish and Shazeer, Noam},
  year={2017},
  eprint={1706.03762v7},
  archivePrefix={arXiv},
  primaryClass={cs.CL}
}

@article{scholar,
  title={Deep residual learning},
  author={He, Kaiming},
  journal={arXiv preprint arXiv:1512.03385},
  year={2015}
}

@inproceedings{notitle, author = {Nobody}, year = {2001}}

@article{broken,
  title = {Unclosed brace,
  year = 2019

@book{after_broken, title = "Still Parsed", year = "1999", url = {https://example.org/book}}
"""


def run(data: bytes, origin: str = "refs.bib"):
    out = list(bibtex.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def test_entries():
    papers, rejected = run(BIB.encode())
    m, v, s, b = papers
    assert m.title == "The BERT Model and Über-Fast $x<y$ Things"
    assert m.authors == ["Jörg Müller", "John Smith Jr.", "Jane Q. Doe", "Barnes and Noble"]
    assert (m.published, m.doi, m.journal_ref) == (
        date(2020, 3, 1),
        "10.5555/12345",
        "Journal of Machine Learning Research",
    )
    assert m.abstract == "We study things in Fréchet spaces, 50% faster. Second line."
    assert m.source == "bibtex" and m.source_ref == "refs.bib:mueller2020" and m.arxiv_id is None
    assert (v.arxiv_id, v.version, v.authors, v.published) == (
        "1706.03762",
        7,
        ["Ashish Vaswani", "Noam Shazeer"],
        date(2017, 1, 1),
    )
    assert (s.arxiv_id, s.journal_ref) == ("1512.03385", None)
    assert (b.title, b.abs_url, b.published) == ("Still Parsed", "https://example.org/book", date(1999, 1, 1))
    assert [r.location for r in rejected] == ["refs.bib:entry 4 (notitle)", "refs.bib:line 34"]
    assert rejected[0].reason == "missing title"
    assert rejected[1].reason.startswith("unreadable BibTeX block: Unexpected block start: `@book`")


def test_duplicates_are_reported():
    papers, rejected = run(b"@misc{k, title={One}}\n@misc{k, title={Two}}\n@misc{f, title={a}, title={b}}\n")
    assert [p.title for p in papers] == ["One"]
    assert [(r.location, r.reason) for r in rejected] == [
        ("refs.bib:line 2", "unreadable BibTeX block: Duplicate entry key 'k'"),
        ("refs.bib:line 3", "unreadable BibTeX block: Duplicate field keys on entry: 'title'"),
    ]


def test_latin1_bytes_and_empty_file():
    papers, rejected = run(b"@article{a,\n title={Caf\xe9 Society},\n year=2001}\n")
    assert rejected == [Rejected("refs.bib:2", "not valid UTF-8; undecodable bytes replaced by U+FFFD")]
    assert papers[0].title == "Caf\ufffd Society"
    assert run(b"") == ([], [])
    assert run(b"% only a comment\n@comment{nothing}\n") == ([], [])


def test_huge_abstract_truncated():
    (p,), _ = run(b"@misc{big, title={Big}, abstract={" + b"word " * 2_000_000 + b"}}")
    assert 99_000 < len(p.abstract) <= 100_000


def test_not_bibtex():
    with pytest.raises(SourceError, match="refs.bib contains no BibTeX entries"):
        run(b"Title line\n\nSome abstract text that is not BibTeX at all.\n")


def test_sniff():
    assert bibtex.sniff(BIB.encode())
    assert bibtex.sniff(b"\xef\xbb\xbf@Article{x,\n title={T}}")
    assert not bibtex.sniff(b'{"title": "@article{x,"}')
    assert not bibtex.sniff(b"Write to me @ home {today}")
