"""Code, model, dataset and project links found in a paper's abstract and arXiv comment (pure, no I/O).

Authors write links many ways: bare `https://github.com/a/b.`, `\\url{...}`, `\\href{url}{text}`, or
`huggingface.co/datasets/a/b` without a scheme. `extract_links` finds them, trims the punctuation around
them, classifies them (code, model, dataset, space, collection, project) and keeps one link per address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

KINDS = ("code", "model", "dataset", "space", "collection", "project")
MAX_LINKS = 12  # a paper listing more is a link farm; the first dozen say enough
MAX_URL_CHARS = 500

# A URL with a scheme, or one of the hosts that matter written without one.
URL_RE = re.compile(
    r"(?:https?://|(?<![\w./@-])(?:www\.|github\.com/|gitlab\.com/|huggingface\.co/))"
    r"[^\s<>\"'{}|\\^`\[\]]+",
    re.IGNORECASE,
)
_TRAIL = ".,;:!?)]}>*'\"~"
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "anonymous.4open.science")
# Addresses that are never a paper's code or project: the paper itself, licences, identifiers.
_SKIP_HOSTS = (
    "arxiv.org",
    "doi.org",
    "dx.doi.org",
    "creativecommons.org",
    "opensource.org",
    "orcid.org",
    "openmdw.ai",
    "www.apache.org",
    "apache.org",
    "scholar.google.com",
)
_HF_KIND = {"datasets": "dataset", "spaces": "space", "collections": "collection"}
_HF_RESERVED = {"papers", "docs", "blog", "models", "learn", "join", "login", "pricing", "settings", "tasks"}


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a paper: what it is, where, a short label and GitHub stars when known."""

    kind: str  # one of KINDS
    url: str
    label: str
    stars: int | None = None


def _trim(url: str) -> str:
    url = url.strip()
    while url and url[-1] in _TRAIL:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # Wikipedia-style (parenthesised) path
        url = url[:-1]
    return url


def classify(url: str) -> Link | None:
    """A Link for one URL, or None when it is not a code/model/dataset/project address."""
    url = _trim(url)
    if not url or len(url) > MAX_URL_CHARS:
        return None
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host or "." not in host or any(host == h or host.endswith("." + h) for h in _SKIP_HOSTS):
        return None
    segs = [s for s in parts.path.split("/") if s]
    if host in ("github.com", "www.github.com", "gitlab.com") or host.startswith("gitlab."):
        if len(segs) < 2:
            return None
        if host.endswith("github.com"):
            owner, repo = segs[0], segs[1].removesuffix(".git")
            return Link("code", f"https://github.com/{owner}/{repo}", f"{owner}/{repo}")
        # GitLab groups nest; the project path ends where GitLab's "/-/" starts.
        path = "/".join(segs[: segs.index("-")] if "-" in segs else segs).removesuffix(".git")
        return Link("code", f"https://{host}/{path}", f"{host}/{path}")
    if host in _CODE_HOSTS or host.endswith(".github.com"):
        if not segs:
            return None
        return Link("code", f"https://{host}{parts.path.rstrip('/')}", f"{host}/{'/'.join(segs[:2])}")
    if host in ("huggingface.co", "www.huggingface.co", "hf.co"):
        if not segs or segs[0] in _HF_RESERVED:
            return None
        kind = _HF_KIND.get(segs[0])
        name = segs[1:3] if kind else segs[:2]
        if len(name) < 2 or name[1] in ("tree", "blob", "resolve"):
            return None
        prefix = f"{segs[0]}/" if kind else ""
        return Link(kind or "model", f"https://huggingface.co/{prefix}{'/'.join(name)}", "/".join(name))
    clean = f"https://{host}{parts.path}".rstrip("/") if parts.scheme.lower() == "https" else url.rstrip("/")
    label = host.removeprefix("www.") + (parts.path.rstrip("/") if len(parts.path) > 1 else "")
    return Link("project", clean, label[:80])


_HINTS = ("http", "www.", "github.com", "gitlab.com", "huggingface.co")


def extract_links(*texts: str | None) -> list[Link]:
    """Every code/model/dataset/project link in the texts, in order of appearance, one per address."""
    out: dict[str, Link] = {}
    for text in texts:
        low = (text or "").lower()
        if not any(h in low for h in _HINTS):  # most abstracts have no link: skip the regex scan (10x slower)
            continue
        for m in URL_RE.finditer(text):
            link = classify(m.group(0))
            if link is not None:
                out.setdefault(link.url.lower(), link)
            if len(out) >= MAX_LINKS:
                return list(out.values())
    return list(out.values())


def merge_links(known: Iterable[Link], found: Iterable[Link]) -> list[Link]:
    """Links from structured data (e.g. Hugging Face's repository and stars) first, then the ones found in text."""
    out: dict[str, Link] = {}
    for link in (*known, *found):
        key = link.url.lower().rstrip("/")
        if key in out:
            if out[key].stars is None and link.stars is not None:
                out[key] = link
            continue
        out[key] = link
    return list(out.values())[:MAX_LINKS]


def paper_links(
    code_url: str | None, project_url: str | None, github_stars: int | None, abstract: str | None, comment: str | None
) -> list[Link]:
    """All links of one paper: its stored code and project addresses (with stars), then those in its text."""
    known = []
    if code_url:
        link = classify(code_url)
        if link is not None:
            known.append(
                Link(
                    link.kind if link.kind != "project" else "code",
                    link.url,
                    link.label,
                    github_stars if link.kind == "code" else None,
                )
            )
    if project_url:
        link = classify(project_url)
        if link is not None:
            known.append(link)
    return merge_links(known, extract_links(abstract, comment))


def has_code(links: Iterable[Link]) -> bool:
    return any(link.kind == "code" for link in links)
