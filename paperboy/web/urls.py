"""Paths of this site's pages, built in one place so ids and names are always URL-quoted."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def paper_url(paper_or_id: Any) -> str:
    pid = paper_or_id if isinstance(paper_or_id, str) else (paper_or_id.id or paper_or_id.paper_id())
    return "/papers/" + quote(pid, safe="/.")


def author_url(name: str) -> str:
    return "/authors/" + quote(name, safe="")


def category_url(cat: str) -> str:
    return "/categories/" + quote(cat, safe=".")
