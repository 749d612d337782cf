"""The search-box language: free words, "phrases", -exclusions and field filters, parsed without raising.

Grammar (informal, case-insensitive field names):
    word            free text, ranked with BM25 (OR semantics; very common words only rank, see lexical.COMMON_DF)
    "a phrase"      must appear as a phrase; an unbalanced quote is closed at the end
    -word -"a b"    must not appear; NOT word works too
    author:hinton   author:"Geoffrey Hinton"   author:Geoffrey Hinton   (au:, authors:)
                    every author filter must match; capitalised words right after a bare author
                    value continue the name (author:Yann LeCun diffusion -> "Yann LeCun" + diffusion)
    cat:cs.CL       category:cs   cat:cs.CL,cs.LG   (categories:)      any category filter may match
    year:2025       year:2024..2025   year:2024-2025   year:2024..
    since:2025-01-01  until:2025-06   (YYYY, YYYY-MM or YYYY-MM-DD; until is inclusive of the period)
    has:code        has:dataset   has:model   has:space   has:project   (links found in the abstract/comment)
    id:2401.01234   arxiv:2401.01234v2   or the whole query being an arXiv id / arxiv.org URL
Anything else of the form foo:bar is searched as the words "foo bar", with a warning.

Pure: no tantivy here, so the web and CLI layers can show warnings and echo filters cheaply.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from paperboy.models import SearchFilters, parse_arxiv_id

# Lucene's English stop words plus question words: dropped from free-text queries only (phrases and
# the index keep them, so "state of the art" still matches as a phrase). Long natural-language
# questions then score on content words and skip huge posting lists.
STOP_WORDS = frozenset(  # also the recommender's TF-IDF stop words (ranking.tfidf)
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with how what which why when where who whom do does did can could "
    "should would i we you our us my me your about any some so than too very just also has have had "
    "been being were its from".split()
)

MAX_QUERY_CHARS = 4096  # longer input is cut before scanning
MAX_QUERY_TOKENS = 64  # words + phrases + filters kept; more only slows the engine, never helps ranking
MAX_TOKEN_CHARS = 200  # a single "word" longer than this is cut

_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z_]*):")
_AUTHOR_FIELDS = {"author", "authors", "au"}
_CATEGORY_FIELDS = {"cat", "category", "categories"}
_ID_FIELDS = {"id", "arxiv"}
_DATE_FIELDS = {"since", "until", "year"}
_HAS_FIELDS = {"has"}
HAS_VALUES = ("code", "model", "dataset", "space", "collection", "project")
_CATEGORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*$")
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
# Lower-case particles that may sit inside a name ("Ludwig van Beethoven").
_NAME_PARTICLES = frozenset("van von de der den da di du del della le la bin ibn".split())
MAX_NAME_PARTS = 3  # words after author:First that may still belong to the name


def _is_name_part(word: str, *, first: bool = False) -> bool:
    """Capitalised ("LeCun"), an initial ("E.") or, inside a name, a particle ("van")."""
    if not word or ":" in word or word in ("AND", "OR", "NOT"):
        return False
    if not first and word in _NAME_PARTICLES:
        return True
    return word[0].isupper() and all(ch.isalpha() or ch in ".'’-" for ch in word)


_YEAR_RANGE_RE = re.compile(r"^(\d{4})?\s*(?:\.\.|-|–)\s*(\d{4})?$")


@dataclass(slots=True)
class ParsedQuery:
    """A search-box query split into what the engines need; `warnings` explain anything reinterpreted."""

    terms: list[str] = field(default_factory=list)  # free words, in order, punctuation trimmed
    phrases: list[str] = field(default_factory=list)  # "quoted phrases", whitespace collapsed
    filters: SearchFilters = field(default_factory=SearchFilters)
    arxiv_id: str | None = None  # set when the whole query (filters aside) is one arXiv id, version dropped
    excluded: list[str] = field(default_factory=list)  # -word or -"a phrase"
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The free text (words and phrases) without field syntax, e.g. for a dense embedder."""
        return " ".join(self.terms + self.phrases)

    def has_text(self) -> bool:
        """True when there is something to rank by (words, phrases or an id)."""
        return bool(self.terms or self.phrases or self.arxiv_id)

    def is_empty(self) -> bool:
        """True when the query asks for nothing at all (no text, exclusions or filters)."""
        return not (self.has_text() or self.excluded) and self.filters.is_empty()


def merge(a: SearchFilters | None, b: SearchFilters | None) -> SearchFilters:
    """Combine filters from two places (CLI/web options and the query): categories any-of over the union,
    authors all-of over the union, and the narrower date range."""
    a = a or SearchFilters()
    b = b or SearchFilters()
    since = max((d for d in (a.since, b.since) if d), default=None)
    until = min((d for d in (a.until, b.until) if d), default=None)
    return SearchFilters(
        categories=tuple(dict.fromkeys(a.categories + b.categories)),
        authors=tuple(dict.fromkeys(a.authors + b.authors)),
        since=since,
        until=until,
        has=tuple(dict.fromkeys(a.has + b.has)),
    )


def parse_query(text: str | None) -> ParsedQuery:
    """Parse search-box text; never raises, whatever the input (see the module docstring for the syntax)."""
    try:
        return _Parser(text if isinstance(text, str) else "").parse()
    except Exception as exc:  # a parser bug must not take search down: fall back to plain words
        words = [w for w in (_trim(w) for w in str(text or "").split()[:MAX_QUERY_TOKENS]) if w]
        return ParsedQuery(terms=words, warnings=[f"query syntax ignored ({type(exc).__name__})"])


def _trim(word: str) -> str:
    """Drop leading/trailing punctuation and symbols; keep inner ones (state-of-the-art, 3.5, C++ -> C)."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end][:MAX_TOKEN_CHARS]


def _parse_date(value: str, *, end: bool) -> date | None:
    """'2025', '2025-03' or '2025-03-07' -> a date; with end=True the last day of that period."""
    m = _DATE_RE.match(value.strip())
    if not m:
        return None
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if m.group(3):
        d = int(m.group(3))
    else:
        d = calendar.monthrange(y, mo)[1] if end and 1 <= mo <= 12 else 1
    try:
        return date(y, mo, d)
    except ValueError:
        return None


class _Parser:
    """One-pass scanner; state lives here so the helpers stay small."""

    def __init__(self, text: str) -> None:
        self.q = ParsedQuery()
        if len(text) > MAX_QUERY_CHARS:
            self.q.warnings.append(f"query truncated to {MAX_QUERY_CHARS} characters")
            text = text[:MAX_QUERY_CHARS]
        self.s = text
        self.i = 0
        self.tokens = 0
        self.categories: list[str] = []
        self.authors: list[str] = []
        self.has: list[str] = []
        self.since: date | None = None
        self.until: date | None = None
        self.id_candidates: list[str] = []

    # -- scanning -------------------------------------------------------------------------------

    def parse(self) -> ParsedQuery:
        s = self.s
        whole = s.strip()
        # The whole query is an id or an arxiv.org URL (checked first: a URL would look like a field).
        if whole and not any(ch.isspace() for ch in whole) and parse_arxiv_id(whole):
            self.q.arxiv_id = parse_arxiv_id(whole)[0]  # type: ignore[index]
            return self.q
        n = len(s)
        while self.i < n:
            ch = s[self.i]
            if ch.isspace():
                self.i += 1
                continue
            if self.tokens >= MAX_QUERY_TOKENS:
                self.q.warnings.append(f"query truncated to the first {MAX_QUERY_TOKENS} terms")
                break
            self.tokens += 1
            negate = False
            if ch == "-" and self.i + 1 < n and (s[self.i + 1] == '"' or s[self.i + 1].isalnum()):
                negate = True
                self.i += 1
            if s[self.i] == '"':
                self._phrase(self._quoted(), negate)
                continue
            self._chunk(self._bare(), negate)
        self._finish()
        return self.q

    def _quoted(self) -> str:
        """Read a "..." starting at self.i; an unbalanced quote runs to the end of the input."""
        start = self.i + 1
        end = self.s.find('"', start)
        if end == -1:
            self.q.warnings.append("unbalanced quote closed at end")
            end = len(self.s)
        self.i = end + 1
        return self.s[start:end]

    def _bare(self) -> str:
        """Read up to whitespace or a quote."""
        start = self.i
        n = len(self.s)
        while self.i < n and not self.s[self.i].isspace() and self.s[self.i] != '"':
            self.i += 1
        return self.s[start : self.i]

    # -- one token --------------------------------------------------------------------------------

    def _chunk(self, chunk: str, negate: bool) -> None:
        m = _FIELD_RE.match(chunk)
        # Bare ids and arxiv.org URLs (a URL would otherwise parse as the field 'https:').
        if not negate and (m is None or "arxiv.org/" in chunk.lower()) and parse_arxiv_id(_trim(chunk)):
            self._id_value(_trim(chunk))
            return
        if m:
            name = m.group(1).lower()
            value = chunk[m.end() :]
            if not value and self.i < len(self.s) and self.s[self.i] == '"':
                value = self._quoted()  # field:"quoted value"
            elif name in _AUTHOR_FIELDS and _is_name_part(value, first=True):
                value = " ".join([value, *self._name_parts()])  # author:Yann LeCun, without quotes
            self._field(name, m.group(1), value, negate)
            return
        if chunk in ("AND", "OR", "&&", "||"):
            self._warn_once("AND/OR are not operators here: every word counts, papers matching more rank higher")
            return
        if chunk == "NOT" and not negate:
            self._negate_next()
            return
        self._word(chunk, negate)

    def _name_parts(self) -> list[str]:
        """Consume the capitalised words right after a bare author value ("LeCun" in author:Yann LeCun)."""
        parts: list[str] = []
        s, n = self.s, len(self.s)
        while len(parts) < MAX_NAME_PARTS:
            j = self.i
            while j < n and s[j].isspace():
                j += 1
            k = j
            while k < n and not s[k].isspace() and s[k] != '"':
                k += 1
            word = s[j:k]
            if not _is_name_part(word):
                break
            parts.append(word)
            self.i = k
        return parts

    def _negate_next(self) -> None:
        """NOT word / NOT "phrase": the next token becomes an exclusion."""
        s, n = self.s, len(self.s)
        while self.i < n and s[self.i].isspace():
            self.i += 1
        if self.i >= n:
            return
        if s[self.i] == '"':
            self._phrase(self._quoted(), True)
        else:
            self._word(self._bare(), True)

    def _word(self, raw: str, negate: bool) -> None:
        w = _trim(raw)
        if not w:
            return  # pure punctuation / operators / emoji: nothing to search for
        (self.q.excluded if negate else self.q.terms).append(w)

    def _phrase(self, raw: str, negate: bool) -> None:
        p = " ".join(raw.split())[: MAX_TOKEN_CHARS * 4]
        if not any(ch.isalnum() for ch in p):
            return
        (self.q.excluded if negate else self.q.phrases).append(p)

    def _field(self, name: str, shown: str, value: str, negate: bool) -> None:
        value = value.strip()
        known = name in _AUTHOR_FIELDS | _CATEGORY_FIELDS | _DATE_FIELDS | _ID_FIELDS | _HAS_FIELDS
        if not known:
            self.q.warnings.append(f"unknown field '{shown}:' searched as text")
            self._word(shown, negate)
            for part in re.split(r"[:/]+", value):
                self._word(part, negate)
            return
        if negate:
            self.q.warnings.append(f"'-{shown}:' is not supported; filter ignored")
            return
        if not value:
            self.q.warnings.append(f"empty '{shown}:' ignored")
            return
        if name in _AUTHOR_FIELDS:
            name_value = " ".join(value.split()).strip(" ,;")
            if any(ch.isalnum() for ch in name_value):
                self.authors.append(name_value)
            else:
                self.q.warnings.append(f"author '{value}' has no letters; ignored")
        elif name in _CATEGORY_FIELDS:
            for cat in value.split(","):
                cat = cat.strip().removesuffix("*").removesuffix(".")
                if _CATEGORY_RE.match(cat):
                    self.categories.append(cat)
                elif cat:
                    self.q.warnings.append(f"'{cat}' is not a category; ignored")
        elif name in _HAS_FIELDS:
            kind = value.lower()
            if kind in HAS_VALUES:
                self.has.append(kind)
            else:
                self.q.warnings.append(f"'has:{value}' is not one of {', '.join(HAS_VALUES)}; ignored")
        elif name == "year":
            self._year(value)
        elif name in ("since", "until"):
            d = _parse_date(value, end=name == "until")
            if d is None:
                self.q.warnings.append(f"'{name}:{value}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD); ignored")
            elif name == "since":
                self.since = max(self.since, d) if self.since else d
            else:
                self.until = min(self.until, d) if self.until else d
        elif name in _ID_FIELDS:
            if parse_arxiv_id(value):
                self._id_value(value)
            else:
                self.q.warnings.append(f"'{value}' is not an arXiv id; searched as text")
                self._word(value, False)

    def _year(self, value: str) -> None:
        m = _YEAR_RANGE_RE.match(value)
        if m and (m.group(1) or m.group(2)):
            lo = _parse_date(m.group(1), end=False) if m.group(1) else None
            hi = _parse_date(m.group(2), end=True) if m.group(2) else None
        else:
            lo = _parse_date(value, end=False) if re.fullmatch(r"\d{4}", value) else None
            hi = _parse_date(value, end=True) if lo else None
            if lo is None:
                self.q.warnings.append(f"'year:{value}' is not a year or range (2025, 2024..2025); ignored")
                return
        if lo:
            self.since = max(self.since, lo) if self.since else lo
        if hi:
            self.until = min(self.until, hi) if self.until else hi

    def _id_value(self, value: str) -> None:
        ident = parse_arxiv_id(value)[0]  # type: ignore[index]
        self.id_candidates.append(ident)
        self.q.terms.append(ident)

    def _warn_once(self, message: str) -> None:
        if message not in self.q.warnings:
            self.q.warnings.append(message)

    def _finish(self) -> None:
        q = self.q
        q.filters = SearchFilters(
            categories=tuple(dict.fromkeys(self.categories)),
            authors=tuple(dict.fromkeys(self.authors)),
            since=self.since,
            until=self.until,
            has=tuple(dict.fromkeys(self.has)),
        )
        if self.since and self.until and self.since > self.until:
            q.warnings.append("date range is empty (since is after until)")
        # "id:2401.01234 cat:cs.CL" is still an id lookup; an id among other words is just a word.
        if len(q.terms) == 1 and self.id_candidates and not (q.phrases or q.excluded):
            q.arxiv_id = self.id_candidates[0]
            q.terms = []


_WORD = re.compile(r"\w+", re.UNICODE)


def plain_text_query(text: str, max_words: int = 200) -> ParsedQuery:
    """A "more like this" query from free text (e.g. abstracts): every word ranked, no search-box syntax.

    Quotes, a leading minus or `author:` inside an abstract stay plain words, never phrases,
    exclusions or filters.
    """
    return ParsedQuery(terms=_WORD.findall(text)[:max_words])
