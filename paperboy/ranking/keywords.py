"""A few keywords per paper from its own title and abstract, computed locally (pure, no model, no corpus).

YAKE-like: candidates are runs of 1-3 content words inside a clause; a candidate scores by how often it
occurs, whether the title has it, and its length; words every abstract uses ("model", "results") never
stand alone. Multi-word phrases win over the single words inside them. `keywords_by_vector` chooses among the same
candidates by their closeness to the paper's embedding instead (the service embeds them).
"""

from __future__ import annotations

import functools
import re
from collections import Counter

import numpy as np

_MATH_OR_URL = re.compile(r"\$[^$]*\$|\\\(.*?\\\)|https?://\S+|\\[a-zA-Z]+(?:\{[^}]*\})?")
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”]|\s[-–—]\s|\n")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*[A-Za-z0-9]|[A-Za-z]")
STOP = frozenset(
    """
a about above across after again against all almost along also although always am among an and another any are
as at be because been before being below between both but by can cannot could did do does doing down during each
either else enough even ever every few for from further had has have having he her here hers him his how however
i if in into is it its itself just least less like made make makes many may me might more most much must my
neither no nor not now of off often on once one only onto or other others our ours out over own per rather same
she should since so some such than that the their them themselves then there these they this those though through
thus to too toward towards under until up upon us use used uses using very via was we well were what when where
whether which while who whom whose why will with within without would yet you your
""".split()
)
# Words nearly every abstract uses: they may sit inside a phrase but are never a keyword on their own.
GENERIC = frozenset(
    """
approach approaches based benchmark benchmarks better challenge challenges demonstrate demonstrates different
effective efficient existing experiment experiments extensive framework frameworks further help however improve
improved improves improvement including key large learning less method methods model models new novel paper
performance problem problems propose proposed provide recent respectively results result show shows significant
significantly state study task tasks three two work works yet first second new art strong achieves achieve
across available code data dataset datasets evaluate evaluation high introduce present presents previous prior
specific simple set use system systems approach often important well various several general current address
""".split()
)


def _candidates(text: str) -> list[tuple[str, ...]]:
    out = []
    for clause in _CLAUSE.split(_MATH_OR_URL.sub(" , ", text)):
        words = _WORD.findall(clause)
        run: list[str] = []
        for w in [*words, ""]:
            lw = w.lower()
            if lw and lw not in STOP and len(lw) > 1 and any(c.isalpha() for c in lw):
                run.append(w)
                continue
            for n in (1, 2, 3):
                for i in range(len(run) - n + 1):
                    out.append(tuple(run[i : i + n]))
            run = []
    return out


def _surface(words: tuple[str, ...]) -> str:
    # Keep acronyms and mixed-case names (BERT, LoRA); lower-case ordinary capitalised words.
    return " ".join(w if any(c.isupper() for c in w[1:]) or w[0].isdigit() else w.lower() for w in words)


@functools.lru_cache(maxsize=4096)
def _keywords(title: str, abstract: str, k: int) -> tuple[str, ...]:
    return tuple(_compute(title, abstract, k))


def keywords(title: str | None, abstract: str | None, k: int = 5) -> list[str]:
    """Up to `k` keywords or keyphrases of a paper, best first (cached: pages ask for the same papers often)."""
    return list(_keywords(title or "", abstract or "", k))


def _scored(title: str, abstract: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(lower-case key, surface words) of every candidate worth showing, best text score first."""
    title, abstract = title or "", abstract or ""
    title_cands = {tuple(w.lower() for w in c) for c in _candidates(title)}
    counts: Counter[tuple[str, ...]] = Counter()
    shown: dict[tuple[str, ...], tuple[str, ...]] = {}
    for cand in _candidates(title) + _candidates(abstract):
        key = tuple(w.lower() for w in cand)
        counts[key] += 1
        shown.setdefault(key, cand)
    scored = []
    for key, n in counts.items():
        if len(key) == 1 and (key[0] in GENERIC or len(key[0]) < 3):
            continue
        if key[0] in GENERIC and key[-1] in GENERIC:
            continue
        if len(key) > 1 and n < 2 and key not in title_cands:
            continue  # a phrase seen once outside the title is usually just adjacent words
        score = n * (1.0 + 0.6 * (len(key) - 1)) * (2.5 if key in title_cands else 1.0)
        scored.append((score, -len(key), key))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    return [(key, shown[key]) for _, _, key in scored]


def _overlaps(text: str, picked: list[str]) -> bool:
    # A word inside a chosen phrase (or the reverse) adds nothing.
    return any(text in p or p in text for p in picked)


def _compute(title: str, abstract: str, k: int) -> list[str]:
    picked: list[str] = []
    out = []
    for key, words in _scored(title, abstract):
        text = " ".join(key)
        if _overlaps(text, picked):
            continue
        picked.append(text)
        out.append(_surface(words))
        if len(out) == k:
            break
    return out


def candidate_phrases(title: str | None, abstract: str | None, limit: int = 30) -> list[str]:
    """The phrases `keywords_by_vector` chooses among: the text's best `limit` candidates, as shown."""
    return [_surface(words) for _, words in _scored(title or "", abstract or "")[:limit]]


def keywords_by_vector(
    phrases: list[str], phrase_vectors: np.ndarray, paper_vector: np.ndarray, k: int = 5, diversity: float = 0.4
) -> list[str]:
    """Up to `k` of `phrases` closest in meaning to the paper (KeyBERT with maximal marginal relevance).

    Vectors are unit rows of the paper's own embedder, so a dot product is the cosine. Each pick
    maximises (1 - diversity) * cos(phrase, paper) - diversity * max cos(phrase, picked): close to the
    paper, unlike what is already chosen. A phrase inside a picked one (or the reverse) is skipped.
    """
    if not phrases:
        return []
    to_paper = phrase_vectors @ paper_vector
    between = phrase_vectors @ phrase_vectors.T
    picked: list[int] = []
    lowered = [p.lower() for p in phrases]
    while len(picked) < k:
        best, best_score = -1, -np.inf
        for i in range(len(phrases)):
            if i in picked or _overlaps(lowered[i], [lowered[j] for j in picked]):
                continue
            redundancy = max((between[i, j] for j in picked), default=0.0)
            score = (1 - diversity) * to_paper[i] - diversity * redundancy
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        picked.append(best)
    return [phrases[i] for i in picked]
