"""BibTeX citation keys: non-ASCII letters are transliterated, never dropped (Cupiał -> cupial)."""

from __future__ import annotations

from datetime import date

from paperboy.models import Paper
from paperboy.service.export import bibtex


def _key(author: str, title: str) -> str:
    p = Paper(
        title=title,
        abstract="",
        authors=[author] if author else [],
        categories=["cs.LG"],
        arxiv_id="2607.00001",
        published=date(2026, 7, 1),
        source="test",
        source_ref="t",
    )
    return bibtex(p).split("{", 1)[1].split(",", 1)[0]


def test_non_ascii_letters_are_transliterated():
    assert _key("Bartłomiej Cupiał", "What Matters in Offline RL") == "cupial2026what"
    assert _key("Jürgen Schmidhuber", "Über Déjà Vu Networks") == "schmidhuber2026uber"
    assert _key("Zoë Nguyễn", "Learning Things") == "nguyen2026learning"


def test_keys_without_latin_letters_still_have_a_name():
    assert _key("王小明", "图神经网络 Graphs").startswith("wang")  # transliterated, not "anon"
    assert _key("", "Notes") == "anon2026notes"
