"""Search-box parsing: fields, phrases, exclusions, ids, and hostile input that must never raise."""

from __future__ import annotations

from datetime import date

import pytest

from paperboy.index.query import MAX_QUERY_TOKENS, ParsedQuery, merge, parse_query
from paperboy.models import SearchFilters


def test_plain_words_keep_order():
    q = parse_query("attention is all you need")
    assert q.terms == ["attention", "is", "all", "you", "need"]
    assert q.phrases == [] and q.excluded == [] and q.arxiv_id is None
    assert q.filters.is_empty() and q.warnings == []


def test_everything_at_once():
    q = parse_query('author:"Geoffrey Hinton" cat:cs.CL,cs.LG year:2024..2025 "neural nets" capsules -bert')
    assert q.terms == ["capsules"]
    assert q.phrases == ["neural nets"]
    assert q.excluded == ["bert"]
    assert q.filters == SearchFilters(
        categories=("cs.CL", "cs.LG"), authors=("Geoffrey Hinton",), since=date(2024, 1, 1), until=date(2025, 12, 31)
    )
    assert q.warnings == []
    assert q.text == "capsules neural nets"


@pytest.mark.parametrize(
    "text, field, expected",
    [
        ("author:hinton", "authors", ("hinton",)),
        ("AUTHOR:Hinton", "authors", ("Hinton",)),
        ('au:"Hinton, Geoffrey"', "authors", ("Hinton, Geoffrey",)),
        ("author:hinton author:lecun", "authors", ("hinton", "lecun")),
        ("author:hinton, deep", "authors", ("hinton",)),
        ("cat:cs.CL", "categories", ("cs.CL",)),
        ("category:cs", "categories", ("cs",)),
        ("cat:cs.*", "categories", ("cs",)),
        ("cat:cs.CL cat:cs.CV", "categories", ("cs.CL", "cs.CV")),
        ("categories:cs.CL,,eess.IV", "categories", ("cs.CL", "eess.IV")),
    ],
)
def test_author_and_category_filters(text, field, expected):
    assert getattr(parse_query(text).filters, field) == expected


@pytest.mark.parametrize(
    "text, since, until",
    [
        ("year:2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("year:2024..2025", date(2024, 1, 1), date(2025, 12, 31)),
        ("year:2024-2025", date(2024, 1, 1), date(2025, 12, 31)),
        ("year:2024..", date(2024, 1, 1), None),
        ("year:..2025", None, date(2025, 12, 31)),
        ("since:2025-01-01", date(2025, 1, 1), None),
        ("since:2025-03", date(2025, 3, 1), None),
        ("until:2025-02", None, date(2025, 2, 28)),
        ("until:2024-02", None, date(2024, 2, 29)),
        ("until:2025", None, date(2025, 12, 31)),
        ("since:2025-01-01 until:2025-06-30", date(2025, 1, 1), date(2025, 6, 30)),
        ("year:2025 since:2025-06-01", date(2025, 6, 1), date(2025, 12, 31)),  # narrowest wins
    ],
)
def test_date_filters(text, since, until):
    f = parse_query(text).filters
    assert (f.since, f.until) == (since, until)


@pytest.mark.parametrize(
    "text, warning",
    [
        ("year:abc", "not a year"),
        ("since:2025-13-01", "not a date"),
        ("until:yesterday", "not a date"),
        ("cat:!!", "not a category"),
        ("author:", "empty"),
        ("-cat:cs.CV", "not supported"),
        ("since:2026 until:2025", "date range is empty"),
    ],
)
def test_bad_filter_values_warn_and_are_ignored(text, warning):
    q = parse_query(text)
    assert any(warning in w for w in q.warnings), q.warnings


def test_unknown_field_is_text_with_warning():
    q = parse_query("foo:bar baz")
    assert q.terms == ["foo", "bar", "baz"]
    assert q.warnings == ["unknown field 'foo:' searched as text"]


def test_unbalanced_quote_closed_at_end():
    q = parse_query('graph "neural networks for')
    assert q.terms == ["graph"]
    assert q.phrases == ["neural networks for"]
    assert q.warnings == ["unbalanced quote closed at end"]


def test_exclusions_and_not():
    q = parse_query('diffusion -video -"text to image" NOT audio state-of-the-art')
    assert q.terms == ["diffusion", "state-of-the-art"]
    assert q.excluded == ["video", "text to image", "audio"]


def test_and_or_are_not_operators():
    q = parse_query("vision AND language OR speech")
    assert q.terms == ["vision", "language", "speech"]
    assert len(q.warnings) == 1


@pytest.mark.parametrize(
    "text",
    [
        "2401.01234",
        "2401.01234v2",
        "arXiv:2401.01234v2",
        "ARXIV:2401.01234",
        "https://arxiv.org/abs/2401.01234v3",
        "arxiv.org/pdf/2401.01234",
        "  2401.01234  ",
        "id:2401.01234",
        "id:2401.01234 cat:cs.CL",
    ],
)
def test_whole_query_arxiv_id(text):
    q = parse_query(text)
    assert q.arxiv_id == "2401.01234"
    assert q.terms == [] and q.phrases == []


def test_old_style_id_and_id_among_words():
    assert parse_query("hep-th/9901001").arxiv_id == "hep-th/9901001"
    q = parse_query("2401.01234 diffusion")
    assert q.arxiv_id is None and q.terms == ["2401.01234", "diffusion"]


def test_long_query_is_truncated_with_warning():
    q = parse_query("word " * 2000 + "x" * 10_000)
    assert len(q.terms) == MAX_QUERY_TOKENS
    assert any("truncated" in w for w in q.warnings)


def test_text_property_and_emptiness():
    assert parse_query("").is_empty()
    assert not parse_query("cat:cs.CL").is_empty()
    assert not parse_query("cat:cs.CL").has_text()
    assert parse_query("-video").excluded == ["video"]


HOSTILE = [
    "",
    " ",
    "\t\n\r",
    "the of and a",
    "😀🔥 🚀",
    "日本語の論文 検索",
    "Обучение нейронных сетей",
    "التعلم العميق",
    "' \" ; -- * ? ( ) [ ] { } ^ ~ : \\ / + ! && ||",
    "'; DROP TABLE papers; --",
    'title:(a OR b)^2 AND c~3 "d e"~2 [1 TO 5] {x TO y} /re.*ge/ +must -not',
    "a:b:c:d",
    ":::",
    ":",
    "-",
    "--",
    '-"',
    '"',
    '""',
    '"""',
    "\\",
    "\x00\x01\x02",
    "\ud800",  # lone surrogate
    'author:"',
    "cat:",
    "year:99999999999999999999",
    "since:0000-00-00",
    "year:0001..9999",
    "x" * 10_000,
    "a " * 5_000,
    "-" * 10_000,
    '"' * 999,
    "NOT",
    "NOT NOT NOT",
    "AND OR",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_never_raises(text):
    q = parse_query(text)
    assert isinstance(q, ParsedQuery)
    assert len(q.terms) + len(q.phrases) + len(q.excluded) <= MAX_QUERY_TOKENS
    for w in q.terms + q.phrases + q.excluded:
        assert w and any(ch.isalnum() for ch in w)


def test_non_string_input_is_tolerated():
    assert parse_query(None).is_empty()  # type: ignore[arg-type]


def test_merge_combines_cli_and_query_filters():
    a = SearchFilters(categories=("cs.CL",), authors=("hinton",), since=date(2024, 1, 1))
    b = SearchFilters(categories=("cs.LG", "cs.CL"), until=date(2025, 1, 1), since=date(2024, 6, 1))
    m = merge(a, b)
    assert m.categories == ("cs.CL", "cs.LG")
    assert m.authors == ("hinton",)
    assert (m.since, m.until) == (date(2024, 6, 1), date(2025, 1, 1))
    assert merge(None, None) == SearchFilters()
    assert merge(a, None) == a


def test_has_filter():
    q = parse_query("diffusion has:code HAS:Dataset has:nonsense")
    assert q.terms == ["diffusion"] and q.filters.has == ("code", "dataset")
    assert any("has:nonsense" in w for w in q.warnings)
    assert not parse_query("has:code").is_empty()
