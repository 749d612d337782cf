"""Shared cleaning helpers: whitespace, HTML, TeX accents, dates, the wrong-format guard."""

from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources.text import MAX_FIELD_CHARS, clean_text, guard_format, latex_accents, parse_date, parse_month


def test_clean_text_collapses_arxiv_line_wraps():
    assert clean_text("Multi-Electron Production at High Transverse Momenta in ep Collisions at\n  HERA ") == (
        "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    )
    assert clean_text(None) == ""
    assert clean_text("a\x00b\tc") == "a b c"  # NUL cannot go into PostgreSQL text


def test_clean_text_strips_real_html_but_keeps_latex_math():
    assert clean_text("Fast <i>k</i>-means for $x<y$ and $a>b$ &amp; more<br/>done") == (
        "Fast k-means for $x<y$ and $a>b$ & more done"
    )
    # not HTML at all: a comparison inside and outside math must survive
    assert clean_text("we prove $x<y$ and a <b and c> d") == "we prove $x<y$ and a <b and c> d"
    assert clean_text("R&D of AT&T") == "R&D of AT&T"
    assert clean_text("<p>Tags</p> <b>off</b>", html_ok=False) == "<p>Tags</p> <b>off</b>"
    assert clean_text('See <a href="https://x.org/a?b=1">code</a>.') == "See code."


def test_clean_text_caps_long_fields():
    assert MAX_FIELD_CHARS - 5 <= len(clean_text("word " * 100_000)) <= MAX_FIELD_CHARS
    assert clean_text("abcdef", max_chars=3) == "abc"


def test_latex_accents_outside_math_only():
    assert latex_accents(r"Schr\"odinger, Fr\'{e}chet, {\"u}ber, na\"{\i}ve, n\~ao, \v{S}ekli, {\ss}, T{\"}ulu") == (
        "Schrödinger, Fréchet, über, naïve, não, Šekli, ß, Tülu"
    )
    assert latex_accents(r"$\tilde x \"a$ and \cite{x} \vec{v} \u") == r"$\tilde x \"a$ and \cite{x} \vec{v} \u"


def test_parse_date_forms():
    assert parse_date("2024-01-03T18:00:00.000Z") == date(2024, 1, 3)
    assert parse_date("2008-11-13") == date(2008, 11, 13)
    assert parse_date("Mon, 2 Apr 2007 19:18:42 GMT") == date(2007, 4, 2)
    assert parse_date("yesterday") is None and parse_date(None) is None and parse_date("2024-13-45") is None
    assert [parse_month(m) for m in ("mar", "March", "3", "{11}", "x")] == [3, 3, 3, 11, None]


def _fits(n_bad: int, then_good: bool = True):
    for i in range(n_bad):
        yield False, Rejected(f"f:{i + 1}", "invalid JSON")
    if then_good:
        yield True, Paper(title="ok")


def test_guard_passes_early_rejections_once_something_fits():
    out = list(guard_format(_fits(5), "x", "f"))
    assert [type(o) for o in out] == [Rejected] * 5 + [Paper]


def test_guard_raises_on_wrong_format():
    with pytest.raises(SourceError, match=r"f does not look like x: the first 20 records.*f:1: invalid JSON"):
        list(guard_format(_fits(25), "x", "f"))
    with pytest.raises(SourceError, match="no record could be read"):
        list(guard_format(_fits(2, then_good=False), "x", "f"))
    assert list(guard_format(iter(()), "x", "f")) == []
