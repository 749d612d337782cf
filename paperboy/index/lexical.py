"""Lexical (BM25) index over title, abstract and authors, stored as tantivy files.

Engine choice, measured by `benchmarks/lexical_engines.py` on the 74,728-paper arXiv sample and SciFact
train (2 shared cores; latency = one query at a time, limit 100, ids resolved, 252 queries):

    engine        build   disk   peak RSS  p50/p99 ms  +1,000 papers          title@1  SciFact nDCG@10
    tantivy raw   4.9 s   37 MB  409 MB    0.38/1.08   0.14 s upsert          1.000    0.624 (title^2 + abstract)
    bm25s         10.8 s  80 MB  992 MB    1.91/3.31   10.1 s full rebuild    0.989    0.667 (no stemmer installed)
    bm25s + stem  13.6 s  85 MB  2018 MB   0.51/3.62   12.7 s full rebuild    0.991    0.697 (tantivy's tokens)
    this module   10.2 s  46 MB  473 MB    0.68/2.06   0.19 s upsert          1.000    0.704 (R@100 0.928)

tantivy wins: smaller, a fraction of the memory, incremental upserts/deletes in a fraction of a second
(bm25s can only rebuild), phrase and field queries, a format other processes can open read-only.
bm25s's quality edge over raw tantivy was the field layout, not the engine: scoring title and abstract
as separate BM25 fields (title^2) gave 0.624; one combined `text` field 0.702; plus a small title-only
bonus 0.705 (grid on SciFact train only, 0.1-0.25 is a plateau; 0.704 with the wider stop-word list
below). Build time here includes making Paper objects and the extra fields. Published BM25 on the
SciFact *test* split: 0.665-0.679.

Schema (only `id` is stored; the store is the source of truth):
    id          raw, stored          upserts/deletes and id lookups
    text        title + abstract     BM25, the main ranking field
    title       title alone          small bonus: a word in the title counts a bit more
    authors     names, folded        free-text author words ("hinton diffusion")
    author_key  raw, multi-valued    normalised name variants for author: filters
    category    raw, multi-valued    lower-cased categories plus their archive ("cs.cl", "cs")
    date        i64 yyyymmdd, fast   published, else listed, else updated; 0 when unknown
    has         raw, multi-valued    link kinds found for the paper (code, dataset, ...), for has:code (v2)
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import tantivy

from paperboy.index.query import STOP_WORDS, ParsedQuery, merge, parse_query
from paperboy.models import Hits, Paper, SearchFilters, normalize_title, parse_arxiv_id
from paperboy.sources.links import paper_links

SCHEMA_VERSION = 2  # bump when fields or analyzers change; an older index must then be rebuilt
MANIFEST = "manifest.json"

# Per-field weights on BM25. `text` holds title + abstract, so a title word scores 1 + TITLE_BOOST.
# Tuned on SciFact train only (no authors there): TEXT_BOOST/TITLE_BOOST grid, nDCG@10 flat for 0.1-0.25.
TEXT_BOOST = 1.0
TITLE_BOOST = 0.2
# Not tunable on SciFact (no authors there). Between an abstract word (1.0) and a title word
# (TEXT_BOOST + TITLE_BOOST = 1.2), i.e. title > authors > abstract. Only applied to query words that
# look like names (see `_text_query`), so a surname that is also a common word cannot take over.
AUTHORS_BOOST = 1.1
# Documents holding all the query words in order (stop words included, slop PHRASE_SLOP) get this
# bonus, so a pasted title or an exact term beats documents that merely contain the words. Neutral on
# SciFact (claims are long); lifts exact-title top-1 on 1,000 arXiv titles from 99.7% to 100%.
PHRASE_BOOST = 0.5
PHRASE_SLOP = 0
# A word more common in text than in bylines still finds the papers it is an author of ("lecun" is cited
# in more abstracts than it signs), ranked below papers that use the word.
AUTHORS_WEAK_BOOST = 0.3
# A query that is exactly an author's name ("Yann LeCun", "G. Hinton") matched against the normalised
# byline variants: above any title word, so the person's papers come first.
AUTHOR_NAME_BOOST = 3.0
PHRASE_MAX_TOKENS = 12  # longer queries are questions/claims; a whole-query phrase never matches them
ID_BOOST = 5.0  # an arXiv id among other words puts that paper first
# Words in more papers than this do not find papers on their own: a paper must hold one of the query's
# rarer words, and the common words only add their score (Lucene's common-terms rule). Walking posting
# lists of hundreds of thousands of papers for words whose IDF is near zero was most of a keyword search
# at 1M+ papers (`benchmarks/keyword_scale.py`). Scores of the papers found are unchanged; a paper holding
# only common words is neither returned nor counted. When every word is common the search ranks all the
# papers holding any (block-max WAND) and the count is an estimate ("about N"): it is certainly above this
# bound, and exact counting would visit every posting. At the sample's 75k papers hardly a word reaches it.
COMMON_DF = 50_000

_TEXT_ANALYZER = "paperboy_en"
_NAME_ANALYZER = "paperboy_name"
_FIELDS = ("text", "title", "authors")


def _text_analyzer() -> tantivy.TextAnalyzer:
    # tantivy's built-in en_stem plus ASCII folding, so "Schrodinger" finds "Schrödinger".
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _name_analyzer() -> tantivy.TextAnalyzer:
    # Names are not stemmed ("Hines" must not match "Hine").
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("text", tokenizer_name=_TEXT_ANALYZER)
    sb.add_text_field("title", tokenizer_name=_TEXT_ANALYZER, index_option="freq")  # no phrases here
    sb.add_text_field("authors", tokenizer_name=_NAME_ANALYZER)
    sb.add_text_field("author_key", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("category", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("date", indexed=True, fast=True)
    sb.add_text_field("has", tokenizer_name="raw", index_option="basic")  # link kinds: code, dataset, ... (v2)
    return sb.build()


def _name_tokens(name: str) -> list[str]:
    """'Hinton, Geoffrey E.' and 'Geoffrey E. Hinton' -> ['geoffrey', 'e', 'hinton'] (accents, case dropped)."""
    name = name or ""
    if name.count(",") == 1:  # "Family, Given" byline form
        family, given = name.split(",")
        name = f"{given} {family}"
    return normalize_title(name).split()


def author_keys(name: str) -> set[str]:
    """Index-side variants of one author name, so author:"Geoffrey Hinton", author:"G. Hinton",
    author:"G. E. Hinton" and author:hinton all hit 'Geoffrey E. Hinton' with one term lookup."""
    toks = _name_tokens(name)
    if not toks:
        return set()
    family = toks[-1]
    keys = {family, " ".join(toks)}
    if len(toks) >= 2:
        keys.add(f"{toks[0]} {family}")  # first + family
        keys.add(f"{toks[0][0]} {family}")  # initial + family
        keys.add(" ".join(t[0] for t in toks[:-1]) + f" {family}")  # all initials + family
        keys.add(" ".join(toks[1:]))  # multi-word family names: "van beethoven"
    return keys


def author_filter_key(name: str) -> str:
    """Query-side key for an author filter value ('' when it has no letters)."""
    return " ".join(_name_tokens(name))


def category_terms(categories: Iterable[str]) -> set[str]:
    """Lower-cased categories plus their archive, so a filter on "cs" matches "cs.CL"."""
    out: set[str] = set()
    for c in categories:
        c = (c or "").strip().lower()
        if c:
            out.add(c)
            if "." in c:
                out.add(c.split(".", 1)[0])
    return out


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two letters costs 1); limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _closest_term(term: str, candidates: Iterable[tuple[str, int]], limit: int) -> str | None:
    """The candidate (term, doc count) nearest to `term` within `limit` edits; ties go to the most frequent."""
    best: tuple[int, int, str] | None = None
    for cand, count in candidates:
        if count <= 0 or abs(len(cand) - len(term)) > limit or not cand.isalpha():
            continue
        d = _edit_distance(term, cand, limit)
        if d <= limit and (best is None or (d, -count) < best[:2]):
            best = (d, -count, cand)
    return best[2] if best else None


def _date_int(d: date | None) -> int:
    return d.year * 10000 + d.month * 100 + d.day if d else 0


def paper_date(p: Paper) -> date | None:
    """The date filters and date ordering use."""
    return p.published or p.listed or p.updated


@dataclass(slots=True)
class _Ranking:
    """A free-text query in parts: scored single-term clauses, the whole-query phrase bonus, hard constraints."""

    should: list  # (Should, boosted term query): the BM25 words, names and ids that find papers
    bonus: tantivy.Query | None  # all the words in order (scored PHRASE_BOOST); None when not asked
    must: list  # (Must, query): quoted phrases, require_all words, every word when all are common
    rank_only: list = field(default_factory=list)  # (Should, query): common words, scoring what `should` finds
    bonus_finds: bool = False  # only stop words: the phrase may match papers no title clause does
    word_df: list = field(default_factory=list)  # papers holding each content word (for estimated counts)
    all_common: bool = False  # every word is common (see COMMON_DF)

    def plain(self) -> bool:
        """Only ranked words (no hard constraint): `LexicalIndex._top_words` can take it."""
        return bool(self.should) and not self.must and not self.rank_only

    def query(self, bonus: bool = True) -> tantivy.Query:
        """The whole ranking as one query: constraints must match, words (and the phrase bonus) rank."""
        Q, Should = tantivy.Query, tantivy.Occur.Should
        phrase = [(Should, Q.boost_query(self.bonus, PHRASE_BOOST))] if bonus and self.bonus is not None else []
        if self.bonus_finds:  # only stop words: the phrase finds papers like the title words do
            return Q.boolean_query(self.should + phrase)
        if self.rank_only and not self.must:
            # A paper holding a rarer word is found; the common words only score it. (With phrases or
            # require_all those decide what matches, and every word ranks alongside.)
            return _scored_at(Q.boolean_query(self.should), self.rank_only + phrase)
        return _scored_at(Q.boolean_query(self.must + self.should + self.rank_only), phrase)

    def with_phrase(self) -> tantivy.Query:
        """Only the papers holding the whole phrase (few), scored exactly as `query()` scores them."""
        Q, Must = tantivy.Query, tantivy.Occur.Must
        found = Q.boolean_query([(Must, Q.boost_query(self.bonus, PHRASE_BOOST)), *self.must])
        if self.rank_only and not self.must:
            # What finds papers may be a name or an id the phrase does not hold: it must match too.
            found = Q.boolean_query([(Must, found), (Must, Q.boolean_query(self.should))])
            return _scored_at(found, self.rank_only)
        # Otherwise a paper holding the phrase holds every word, and the words only add their scores.
        return _scored_at(found, self.should + self.rank_only)


def _scored_at(found: tantivy.Query, clauses: list) -> tantivy.Query:
    """`found`, with each optional clause adding its score where it matches: nested one clause per level.

    tantivy merges the optional clauses of one boolean query into a single union and advances that union
    over every posting of every clause; alone under a required query, a clause is only sought at the papers
    the required part matched. Scores are the same sum; the saving with common words (COMMON_DF) is in
    benchmarks/RESULTS.md (`benchmarks/keyword_scale.py --against`).
    """
    Must = tantivy.Occur.Must
    for clause in clauses:
        found = tantivy.Query.boolean_query([(Must, found), clause])
    return found


def _union_estimate(word_df: list[int], docs: int, floor: int) -> int:
    """About how many of `docs` papers hold any of the words, from how many hold each, as if they
    occurred independently (co-occurring words make it high), in [most common word's count, docs],
    rounded to two significant figures: it is shown as "about N"."""
    held = 1.0
    for df in word_df:
        held *= 1.0 - min(df, docs) / docs
    n = max(docs * (1.0 - held), max(word_df, default=0), floor)
    digits = max(0, len(str(int(n))) - 2)
    return min(docs, int(round(n, -digits)))


class LexicalIndexError(RuntimeError):
    """The index on disk cannot be used by this version (rebuild it)."""


class LexicalIndex:
    """BM25 search over papers in a tantivy directory; searches are thread-safe, writes serialised."""

    def __init__(self, directory: Path, *, writer_heap_mb: int = 128, common_df: int = COMMON_DF) -> None:
        self.directory = Path(directory)
        self.common_df = int(common_df)  # see COMMON_DF
        self.directory.mkdir(parents=True, exist_ok=True)
        self.writer_heap_mb = max(16, int(writer_heap_mb))
        manifest = self.read_manifest()
        if manifest and manifest.get("schema_version") != SCHEMA_VERSION:
            raise LexicalIndexError(
                f"lexical index at {self.directory} has schema version {manifest.get('schema_version')}, "
                f"this paperboy needs {SCHEMA_VERSION}: rebuild it (paperboy index --rebuild)"
            )
        if tantivy.Index.exists(str(self.directory)) and not tantivy.Index.is_compatible(str(self.directory)):
            raise LexicalIndexError(
                f"lexical index at {self.directory} was written by an incompatible tantivy; rebuild it"
            )
        self._schema = _schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(self.directory), reuse=True)
        except ValueError as exc:  # "An index exists but the schema does not match."
            raise LexicalIndexError(
                f"lexical index at {self.directory}: {exc}; rebuild it (paperboy index --rebuild)"
            ) from exc
        self._text = _text_analyzer()
        self._name = _name_analyzer()
        # Custom analyzers live in this process only: register them before any write or search.
        self._index.register_tokenizer(_TEXT_ANALYZER, self._text)
        self._index.register_tokenizer(_NAME_ANALYZER, self._name)
        self._write_lock = threading.Lock()
        if not manifest:
            self._write_manifest()

    # -- manifest -----------------------------------------------------------------------------------

    def read_manifest(self) -> dict:
        """The manifest as stored ({} if none): schema version, count, boosts and caller-set fields."""
        try:
            return json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write_manifest(self, **fields: object) -> None:
        data = self.read_manifest()
        data.update(fields)
        data.update(
            schema_version=SCHEMA_VERSION,
            engine=str(getattr(tantivy, "__version__", "tantivy")),
            analyzers={"text/title": "simple+lowercase+ascii_fold+stem(en)", "authors": "simple+lowercase+ascii_fold"},
            boosts={"text": TEXT_BOOST, "title": TITLE_BOOST, "authors": AUTHORS_BOOST},
            count=self.count() if hasattr(self, "_index") else 0,
            updated_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        # Unique temporary name: a reader process opening a new index also writes the manifest.
        fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, self.directory / MANIFEST)  # atomic: readers never see half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- writes -------------------------------------------------------------------------------------

    def _document(self, p: Paper, pid: str) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_text("id", pid)
        title = " ".join((p.title or "").split())
        abstract = " ".join((p.abstract or "").split())
        doc.add_text("text", f"{title}\n{abstract}" if abstract else title)
        doc.add_text("title", title)
        if p.authors:
            doc.add_text("authors", "; ".join(p.authors))
        for key in set().union(*(author_keys(a) for a in p.authors)) if p.authors else ():
            doc.add_text("author_key", key)
        for cat in category_terms(p.categories or ()):
            doc.add_text("category", cat)
        doc.add_integer("date", _date_int(paper_date(p)))
        for kind in {link.kind for link in paper_links(p.code_url, p.project_url, None, p.abstract, p.comment)}:
            doc.add_text("has", kind)
        return doc

    def add(self, papers: Iterable[Paper]) -> int:
        """Insert or replace papers by id (paper.id, else paper.paper_id()); searchable when this returns."""
        with self._write_lock:
            # Another process may have committed since this reader last reloaded (it polls): judge
            # "fresh" on the latest commit, or skipped deletes would duplicate its documents.
            self._index.reload()
            fresh = self._searcher().num_docs == 0
            writer = self._index.writer(heap_size=self.writer_heap_mb * 1_000_000)
            n = 0
            seen: set[str] = set()
            try:
                for p in papers:
                    pid = p.id or p.paper_id()
                    # On a fresh index only in-batch repeats need a delete; 75k no-op deletes cost seconds.
                    if not fresh or pid in seen:
                        writer.delete_documents_by_term("id", pid)
                    seen.add(pid)
                    writer.add_document(self._document(p, pid))
                    n += 1
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # releases the directory lock for other processes
            self._index.reload()
            self._write_manifest()
            return n

    def delete(self, ids: Iterable[str]) -> None:
        """Remove papers by id (unknown ids are ignored)."""
        with self._write_lock:
            writer = self._index.writer(heap_size=self.writer_heap_mb * 1_000_000)
            try:
                for pid in ids:
                    writer.delete_documents_by_term("id", str(pid))
                writer.commit()
            finally:
                writer.wait_merging_threads()
            self._index.reload()
            self._write_manifest()

    def clear(self) -> None:
        """Delete every document (for a rebuild)."""
        with self._write_lock:
            writer = self._index.writer(heap_size=self.writer_heap_mb * 1_000_000)
            try:
                writer.delete_all_documents()
                writer.commit()
            finally:
                writer.wait_merging_threads()
            self._index.reload()
            self._write_manifest()

    # -- reads --------------------------------------------------------------------------------------

    def _searcher(self) -> tantivy.Searcher:
        return self._index.searcher()

    def count(self) -> int:
        """Number of live documents."""
        return self._searcher().num_docs

    def ids(self) -> set[str]:
        """Every id in the index."""
        return self.filter_ids(SearchFilters())

    def filter_ids(self, filters: SearchFilters, limit: int = 1_000_000) -> set[str]:
        """Ids of all papers matching the filters alone (to restrict dense search); empty filters = all."""
        q = self._filter_query(filters) if not filters.is_empty() else tantivy.Query.all_query()
        if q is None:
            return set()
        # Walking the id term dictionary restricted by the filter avoids loading stored documents;
        # the filter also hides deleted documents whose terms linger until a merge.
        terms = self._searcher().terms_with_prefix("id", "", filter_query=q, limit=max(0, int(limit)))
        return {t for t, c in terms if c > 0}

    def search(self, query: str | ParsedQuery, *, limit: int = 100, filters: SearchFilters | None = None) -> Hits:
        """Rank papers for a search-box query (string or parsed) plus extra filters; never raises on user text.

        Free words are OR-ed and BM25-scored; phrases must match; excluded words must not. A query that
        is only filters (or only exclusions) lists matching papers newest first with score 0.
        """
        return self.search_counted(query, limit=limit, filters=filters, count=False)[0]

    def search_counted(
        self,
        query: str | ParsedQuery,
        *,
        limit: int = 100,
        filters: SearchFilters | None = None,
        count: bool = True,
        require_all: bool = False,
        exclude_ids: Collection[str] = (),
    ) -> tuple[Hits, int, bool]:
        """`search` plus the number of matching papers beyond `limit` (0 when count=False) and whether
        that number is an estimate.

        require_all: every free word must match too (saved-search alerts), not just rank.
        exclude_ids: papers never returned nor counted (hidden by a moderator), so a page stays full.
        The count is exact unless every word is in more than `common_df` papers and nothing else
        constrains the query (see COMMON_DF): then "about N", N from the words' document frequencies.
        """
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
        flt = merge(parsed.filters, filters)
        limit = int(limit)
        if limit <= 0:
            return Hits.empty(), 0, False
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return Hits.empty(), 0, False
        limit = min(limit, searcher.num_docs)
        filter_q = self._filter_query(flt)
        if filter_q is None:  # a filter that can match nothing (e.g. since > until)
            return Hits.empty(), 0, False

        ranking = None
        main: tantivy.Query | None = None  # what matches when nothing ranks: an id, else (below) every paper
        if parsed.arxiv_id:
            main = tantivy.Query.term_query(self._schema, "id", parsed.arxiv_id)
        else:
            ranking = self._text_query(parsed, searcher, require_all=require_all, common_df=self.common_df)
        exclude = self._exclusions(parsed.excluded)
        if ranking is not None and ranking.plain() and flt.is_empty() and not exclude:
            if not count:
                return self._top_words(searcher, ranking, limit, set(exclude_ids)), 0, False
            if ranking.all_common:  # certainly > common_df matches: rank with WAND, estimate the count
                hits = self._top_words(searcher, ranking, limit, set(exclude_ids))
                return hits, _union_estimate(ranking.word_df, searcher.num_docs, len(hits)), True
        if exclude_ids:
            exclude.append(self._ids_query(exclude_ids))
        by_date = main is None and ranking is None
        if by_date:
            if flt.is_empty() and not exclude:
                return Hits.empty(), 0, False  # nothing asked for
            main = tantivy.Query.all_query()

        def restricted(main: tantivy.Query) -> tantivy.Query:
            clauses = [(tantivy.Occur.Must, main)]
            if not flt.is_empty():
                # Filters restrict but must not change BM25 scores.
                clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(filter_q, 0.0)))
            clauses += [(tantivy.Occur.MustNot, q) for q in exclude]
            return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

        if by_date:
            res = searcher.search(restricted(main), limit, count=count, order_by_field="date", order=tantivy.Order.Desc)
            ids = [searcher.doc(addr).get_first("id") for _, addr in res.hits]
            return Hits(ids, np.zeros(len(ids), dtype=np.float32)), int(res.count or 0) if count else 0, False
        if ranking is None or ranking.bonus is None or ranking.bonus_finds:
            res = searcher.search(restricted(main if ranking is None else ranking.query()), limit, count=count)
            return self._hits(searcher, res.hits, limit), int(res.count or 0) if count else 0, False
        # The phrase bonus as an optional clause is checked on every paper found; ranked apart over the
        # papers holding the phrase (few) and merged, it costs a fraction (as in `_top_words`). Exact:
        # a paper of the phrase outside its top `limit` is beaten by `limit` papers that hold it.
        res = searcher.search(restricted(ranking.query(bonus=False)), limit, count=count)
        merged = res.hits + searcher.search(restricted(ranking.with_phrase()), limit, count=False).hits
        return self._hits(searcher, merged, limit), int(res.count or 0) if count else 0, False

    @staticmethod
    def _hits(searcher: tantivy.Searcher, scored: list, limit: int, exclude_ids: Collection[str] = ()) -> Hits:
        """The best `limit` of (score, address) pairs, each paper once at its best score, ids resolved."""
        best: dict[tuple[int, int], float] = {}
        for score, addr in scored:
            key = (addr.segment_ord, addr.doc)
            best[key] = max(score, best.get(key, score))
        ids, scores = [], []
        for (seg, doc), score in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])):
            pid = searcher.doc(tantivy.DocAddress(seg, doc)).get_first("id")
            if pid not in exclude_ids:
                ids.append(pid)
                scores.append(score)
                if len(ids) == limit:
                    break
        return Hits(ids, np.asarray(scores, dtype=np.float32))

    def _top_words(self, searcher: tantivy.Searcher, ranking: _Ranking, limit: int, exclude_ids: set[str]) -> Hits:
        """Top `limit` of a free-word query, exactly as `ranking.query()` would rank them, but fast.

        A union of term queries alone is what tantivy's block-max WAND prunes (it skips blocks of
        postings that cannot reach the current top-k); a phrase clause among them, a filter or an
        exclusion turns that off and every paper holding any query word gets scored. So the words
        are ranked alone, and the papers holding the whole phrase are ranked apart with their bonus
        (a phrase is selective). Merging is exact: a paper outside the phrase's top `limit` is
        beaten by `limit` papers of it. Excluded ids (few: hidden papers) are fetched and dropped.
        Only without a count: counting visits every match anyway, and one pass that scores while it
        counts was cheaper than ranking and then counting (`benchmarks/keyword_scale.py`, 200k papers).
        """
        fetch = limit + len(exclude_ids)
        scored = searcher.search(tantivy.Query.boolean_query(ranking.should), fetch).hits
        if ranking.bonus is not None:
            scored += searcher.search(ranking.with_phrase(), fetch).hits
        return self._hits(searcher, scored, limit, exclude_ids)

    def _ids_query(self, ids: Collection[str]) -> tantivy.Query:
        return tantivy.Query.term_set_query(self._schema, "id", sorted(ids))

    def corrections(self, parsed: ParsedQuery) -> dict[str, str]:
        """Misspelled free words -> the closest word of the index vocabulary ("difusion" -> "diffusion").

        A word is misspelled when neither the text nor the bylines hold it. Candidates are index terms
        with the same first letter within edit distance 1 (words up to 7 letters) or 2; the closest
        wins, then the most frequent. Terms are stems ("diffus"): the suggestion is the typed word with
        its stem replaced ("difus|ion" -> "diffus|ion") when that stems back to the candidate.
        """
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return {}
        out: dict[str, str] = {}
        for word in parsed.terms:
            if parse_arxiv_id(word) or word in out:
                continue
            names, stems = self._name.analyze(word), self._text.analyze(word)
            if len(names) != 1 or len(stems) != 1 or names[0] in STOP_WORDS or not names[0].isalpha():
                continue  # "state-of-the-art", numbers, stop words: not judged
            n, t = names[0], stems[0]
            if len(t) < 4 or searcher.doc_freq("text", t) or searcher.doc_freq("authors", n):
                continue
            best = _closest_term(t, searcher.terms_with_prefix("text", t[0]), 1 if len(n) <= 7 else 2)
            if best is None:
                continue
            fixed = best + n[len(t) :] if n.startswith(t) else best
            if self._text.analyze(fixed) != [best]:
                fixed = best
            out[word] = fixed
        return out

    def where_matched(self, parsed: ParsedQuery, paper: Paper) -> str:
        """Where a paper holds a query's words and phrases, in the index's own terms:
        'title: speculative, decoding; abstract: draft' ('' when none is found, e.g. a filter-only query)."""
        fields = {"title": paper.title or "", "abstract": paper.abstract or ""}
        toks = {f: self._text.analyze(v) for f, v in fields.items()}
        sets = {f: set(t) for f, t in toks.items()}
        names = set(self._name.analyze("; ".join(paper.authors or ())))
        found: dict[str, list[str]] = {"title": [], "abstract": [], "authors": []}
        for phrase in parsed.phrases:
            want = self._text.analyze(phrase)
            for f, seq in toks.items():
                if want and any(seq[k : k + len(want)] == want for k in range(len(seq) - len(want) + 1)):
                    found[f].append(f"“{phrase}”")
                    break
        for word in dict.fromkeys(parsed.terms):
            stems, ns = self._text.analyze(word), self._name.analyze(word)
            if not stems or (ns and ns[0] in STOP_WORDS):
                continue
            where = next((f for f in ("title", "abstract") if all(t in sets[f] for t in stems)), None)
            if where:
                found[where].append(word)
            elif ns and all(n in names for n in ns):
                found["authors"].append(word)
        return "; ".join(f"{f}: {', '.join(ws)}" for f, ws in found.items() if ws)

    # -- query building -------------------------------------------------------------------------------

    def _terms(self, analyzer: tantivy.TextAnalyzer, words: list[str]) -> list[str]:
        toks = analyzer.analyze(" ".join(words)) if words else []
        return list(dict.fromkeys(toks))  # repeated words would count twice

    def _phrase_or_term(self, field: str, toks: list[str]) -> tantivy.Query:
        # tantivy panics on a one-word phrase query, so a one-token "phrase" is a term query.
        if len(toks) == 1:
            return tantivy.Query.term_query(self._schema, field, toks[0])
        return tantivy.Query.phrase_query(self._schema, field, toks)

    def _text_query(
        self,
        parsed: ParsedQuery,
        searcher: tantivy.Searcher,
        *,
        require_all: bool = False,
        common_df: int | None = COMMON_DF,
    ) -> _Ranking | None:
        """BM25 over free words (OR), phrases as must-match; None if there is nothing to rank by.

        require_all: each free content word must also match (in the text, or in the bylines).
        common_df: words in more papers only rank what the others find, unless every word is that
        common (see COMMON_DF); None: every word finds papers.
        """
        Q, Should, Must = tantivy.Query, tantivy.Occur.Should, tantivy.Occur.Must
        should: list = []
        bonus: tantivy.Query | None = None
        # An arXiv id among the words is looked up on `id`, not searched as the digits "2401" "01234".
        id_words = {w: parse_arxiv_id(w) for w in parsed.terms}
        words = [w for w in parsed.terms if not id_words[w]]
        joined = " ".join(words)
        # Both analyzers tokenize identically (the text one also stems), so the lists line up:
        # stop words are judged on the surface form ("does" stems to "doe").
        pairs = list(zip(self._name.analyze(joined), self._text.analyze(joined))) if words else []
        content = [(n, t) for n, t in pairs if n not in STOP_WORDS]
        if pairs and not content:
            # Only stop words ("The The", "what is it"): match them in titles, where they are rare enough.
            for t in dict.fromkeys(t for _, t in pairs):
                should.append((Should, Q.term_query(self._schema, "title", t)))
        # Each content word's clauses: text and title, and its bylines when it is a name.
        word_clauses: dict[str, list] = {}
        text_df: dict[str, int] = {}
        for n, t in dict.fromkeys(content):
            if t not in word_clauses:
                text_df[t] = searcher.doc_freq("text", t)
                word_clauses[t] = [
                    (Should, Q.boost_query(Q.term_query(self._schema, "text", t), TEXT_BOOST)),
                    (Should, Q.boost_query(Q.term_query(self._schema, "title", t), TITLE_BOOST)),
                ]
            # A word counts fully as an author name only when it is at least as common in bylines as in
            # text: "hinton", "wang" yes; "long" or "young" (surnames too) would otherwise lift papers
            # by Zi Long over papers about long context, so those match bylines with a weak boost.
            a_df = searcher.doc_freq("authors", n)
            if a_df:
                boost = AUTHORS_BOOST if 2 * a_df >= text_df[t] else AUTHORS_WEAK_BOOST
                word_clauses[t].append((Should, Q.boost_query(Q.term_query(self._schema, "authors", n), boost)))
        if 2 <= len(pairs) <= PHRASE_MAX_TOKENS and PHRASE_BOOST > 0:
            bonus = Q.phrase_query(self._schema, "text", [t for _, t in pairs], slop=PHRASE_SLOP)
        name_key = author_filter_key(joined) if 2 <= len(pairs) <= 4 else ""
        if name_key and searcher.doc_freq("author_key", name_key):
            # The whole query is someone's name ("Yann LeCun"): that person's papers first.
            should.append(
                (Should, Q.boost_query(Q.term_query(self._schema, "author_key", name_key), AUTHOR_NAME_BOOST))
            )
        for ident in id_words.values():  # "2401.01234 diffusion": the id's paper goes first
            if ident:
                should.append((Should, Q.boost_query(Q.term_query(self._schema, "id", ident[0]), ID_BOOST)))
        common = {t for t, df in text_df.items() if common_df is not None and df > common_df}
        rank_only: list = []
        must: list = []
        # What finds papers: a name or id clause, or a word not common that some paper holds.
        finds = bool(should) or any(t not in common and (text_df[t] or len(cl) > 2) for t, cl in word_clauses.items())
        for t, clauses in word_clauses.items():
            if t in common and finds:
                rank_only.extend(clauses)  # scores what the rarer words find
            else:
                should.extend(clauses)

        for phrase in parsed.phrases:
            alts = []
            toks = self._terms(self._text, [phrase])
            if toks:
                alts.append((Should, self._phrase_or_term("text", toks)))
            ntoks = self._terms(self._name, [phrase])
            if ntoks:  # "Geoffrey Hinton" in quotes is most likely an author
                alts.append((Should, self._phrase_or_term("authors", ntoks)))
            if alts:
                must.append((Must, Q.boolean_query(alts)))
        if require_all:
            for n, t in dict.fromkeys(content):
                must.append(
                    (
                        Must,
                        Q.boolean_query(
                            [
                                (Should, Q.term_query(self._schema, "text", t)),
                                (Should, Q.term_query(self._schema, "authors", n)),
                            ]
                        ),
                    )
                )
        if not should and not must:
            return None
        return _Ranking(
            should,
            bonus,
            must,
            rank_only,
            bonus_finds=bool(pairs) and not content,
            word_df=list(text_df.values()),
            all_common=bool(common) and not finds,
        )

    def _known_author_key(self, key: str) -> str:
        """`key`, or its longest leading words that some byline holds: author:Hinton Deep Learning
        (capitalised words after a bare name are read as part of it) still means Hinton."""
        words = key.split()
        if len(words) < 2:
            return key
        searcher = self._searcher()
        for n in range(len(words), 0, -1):
            if searcher.doc_freq("author_key", " ".join(words[:n])):
                return " ".join(words[:n])
        return key

    def _exclusions(self, excluded: list[str]) -> list[tantivy.Query]:
        out = []
        for item in excluded:
            toks = self._terms(self._text, [item])
            if toks:
                out.append(self._phrase_or_term("text", toks))
            ntoks = self._terms(self._name, [item])
            if ntoks:
                out.append(self._phrase_or_term("authors", ntoks))
        return out

    def _filter_query(self, f: SearchFilters) -> tantivy.Query | None:
        """Query for the filters alone (all_query when empty); None when they can match nothing."""
        Q, Must = tantivy.Query, tantivy.Occur.Must
        clauses = []
        # Filter side: exact lower-cased values; "cs" matches "cs.*" because the index also holds archives.
        cats = sorted({c.strip().lower() for c in f.categories if c and c.strip()})
        if cats:
            clauses.append((Must, Q.term_set_query(self._schema, "category", cats)))
        for name in f.authors:
            key = self._known_author_key(author_filter_key(name))
            if key:
                clauses.append((Must, Q.term_query(self._schema, "author_key", key)))
        for kind in f.has:
            clauses.append((Must, Q.term_query(self._schema, "has", kind)))
        if f.since or f.until:
            lo = _date_int(f.since) if f.since else 1  # 1, not 0: papers without a date never pass
            hi = _date_int(f.until) if f.until else 99991231
            if lo > hi:
                return None
            clauses.append((Must, Q.range_query(self._schema, "date", tantivy.FieldType.Integer, lo, hi)))
        if not clauses:
            return Q.all_query()
        return clauses[0][1] if len(clauses) == 1 else Q.boolean_query(clauses)
