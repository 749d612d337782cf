"""Templates and the text filters pages use; paper text is always escaped before any markup is added."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from paperboy.web import security
from paperboy.web.urls import author_url, category_url, paper_url

TEMPLATES = Path(__file__).parent / "templates"
_TERM_RE = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOP = frozenset("an and are as at be by for from in is it of on or the to with".split())
# $...$ and $$...$$ spans (no newline-spanning monsters), and \( \) / \[ \] ones.
_MATH_RE = re.compile(r"\$\$[^$]{1,400}\$\$|\$[^$\n]{1,200}\$|\\\([^\n]{1,200}?\\\)|\\\[[^\n]{1,400}?\\\]")


def _esc(text: str) -> str:
    # Same output as markupsafe.escape, several times faster for the many small pieces built here.
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


@functools.lru_cache(maxsize=256)
def query_terms(query: str) -> tuple[str, ...]:
    """Distinct words of a query worth highlighting (no stop words, at most 20)."""
    seen: dict[str, None] = {}
    for w in _TERM_RE.findall(query or ""):
        lw = w.lower()
        if lw not in _STOP:
            seen.setdefault(lw, None)
    return tuple(seen)[:20]


@functools.lru_cache(maxsize=256)
def _term_pattern(query: str) -> re.Pattern | None:
    terms = query_terms(query)
    if not terms:
        return None
    return re.compile(
        r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\w*", re.IGNORECASE
    )


def _wrap(text: str, pattern: re.Pattern | None, open_tag: str, close_tag: str) -> Markup:
    """`text` escaped, with every match of `pattern` wrapped in the given tags."""
    if pattern is None:
        return Markup(_esc(text))
    # Matching runs on the raw text and each piece is escaped on its own, so a match can never
    # fall inside an entity like &amp; and the text can never inject markup.
    out, pos = [], 0
    for m in pattern.finditer(text):
        out += (_esc(text[pos : m.start()]), open_tag, _esc(m.group(0)), close_tag)
        pos = m.end()
    out.append(_esc(text[pos:]))
    return Markup("".join(out))


def highlight(text: str | None, query: str) -> Markup:
    """`text` escaped, with words starting with a query term wrapped in <mark>."""
    return _wrap(text or "", _term_pattern(query or ""), "<mark>", "</mark>")


def snippet(text: str | None, query: str, size: int = 420) -> Markup:
    """A window of `text` around the first query match (or its start), highlighted."""
    text = text or ""
    if len(text) <= size:
        return highlight(text, query)
    start = 0
    pattern = _term_pattern(query or "")
    if pattern is not None:
        m = pattern.search(text)
        if m and m.start() > size // 2:
            start = text.rfind(" ", 0, m.start() - size // 4) + 1
    end = text.find(" ", start + size)
    end = len(text) if end == -1 else end
    body = highlight(text[start:end], query)
    return (Markup("… ") if start else Markup("")) + body + (Markup(" …") if end < len(text) else Markup(""))


def with_math(text: str | None) -> Markup:
    """`text` escaped, with TeX math spans wrapped in <span class="math"> so they read as formulas."""
    return _wrap(text or "", _MATH_RE, '<span class="math">', "</span>")


# Text-mode LaTeX that should read as text: \emph{...} and friends, accents, escaped specials.
_TEX_TEXT = (
    r"\\(?:emph|textbf|textit|texttt|textsc|textrm|textsf|textsl|underline|mbox|text)\{[^{}$\\]{0,300}\}"
    r"|\\['`^\"~=.][A-Za-z]|\\['`^\"~=.uvHc]\{[A-Za-z]\}|\\[%&_#]"
)
_URL = r"https?://[^\s<>\"'{}|\\^`\[\]]{1,500}"
_TEX_URL = r"\\(?:url|href)\{(?P<texurl>https?://[^{}\s\\]{1,500})\}(?:\{(?P<label>[^{}\\$]{0,200})\})?"
_RICH_RE = re.compile(f"(?P<math>{_MATH_RE.pattern})|{_TEX_URL}|(?P<url>{_URL})|(?P<tex>{_TEX_TEXT})")
_URL_TRAIL = ".,;:!?)]}>*'\"~"
_latex_to_text = None


def _tex_text(src: str) -> str:
    global _latex_to_text
    if _latex_to_text is None:
        from pylatexenc.latex2text import LatexNodes2Text

        _latex_to_text = LatexNodes2Text().latex_to_text
    try:
        return _latex_to_text(src)
    except Exception:  # pylatexenc is lenient, but a paper's text must never break a page
        return src


@functools.lru_cache(maxsize=4096)
def _rich(text: str) -> str:
    out, pos = [], 0
    for m in _RICH_RE.finditer(text):
        out.append(_esc(text[pos : m.start()]))
        pos = m.end()
        if m.group("math"):
            out.append(f'<span class="math">{_esc(m.group(0))}</span>')
        elif m.group("texurl"):
            url = m.group("texurl")
            out.append(
                f'<a href="{_esc(url)}" rel="nofollow noopener" class="ext-link">'
                f"{_esc(_tex_text(m.group('label')) if m.group('label') else url)}</a>"
            )
        elif m.group("url"):
            url = m.group(0)
            while url and url[-1] in _URL_TRAIL and not (url[-1] == ")" and url.count("(") >= url.count(")")):
                url = url[:-1]
            pos = m.start() + len(url)  # trimmed punctuation stays text
            out.append(f'<a href="{_esc(url)}" rel="nofollow noopener" class="ext-link">{_esc(url)}</a>')
        else:
            out.append(_esc(_tex_text(m.group(0))))
    out.append(_esc(text[pos:]))
    return "".join(out)


def rich_text(text: str | None) -> Markup:
    """Paper text for pages: escaped, URLs as links, math spans for KaTeX, \\emph{...} and accents as text."""
    return Markup(_rich(text or ""))


def page_url(request: Request, page: int) -> str:
    """This page's URL with another page number (other parameters kept)."""
    q = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    if page > 1:
        q.append(("page", str(page)))
    return request.url.path + ("?" + urlencode(q) if q else "")


def day_str(d: date | None) -> str:
    return d.strftime("%b %-d, %Y") if d else ""


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every {{ }} is escaped unless a filter above returned Markup on purpose
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(highlight=highlight, snippet=snippet, with_math=with_math, rich_text=rich_text, day=day_str)
    env.globals.update(
        page_url=page_url, paper_url=paper_url, author_url=author_url, category_url=category_url, urlencode=urlencode
    )
    return Jinja2Templates(env=env)


def _my_collections(request: Request) -> list:
    """The viewer's collections, read once per request, for the "add to collection" forms on cards."""
    if not hasattr(request.state, "my_collections"):
        user = security.current_user(request)
        request.state.my_collections = request.app.state.pb.collections.mine(user) if user else []
    return request.state.my_collections


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the viewer, CSRF token and settings available; sets the CSRF cookie if new."""
    ctx = {
        "request": request,
        "user": security.current_user(request),
        "is_admin": request.app.state.moderation.is_admin(security.current_user(request)),
        "csrf_token": security.csrf_token(request),
        "path": request.url.path,
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "my_collections": functools.partial(_my_collections, request),
        **context,
    }
    response = request.app.state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
    security.set_csrf_cookie(request, response)
    return response


def form_again(request: Request, template: str, ctx: dict, exc: Exception, status: int = 400) -> Response:
    """The form again with the service's reason; 429 with Retry-After when the reason is a rate limit."""
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers = {"Retry-After": str(retry)}
        return render(request, template, {**ctx, "error": str(exc)}, status_code=429, headers=headers)
    return render(request, template, {**ctx, "error": str(exc)}, status_code=status)


def message_page(request: Request, title: str, message: str, status: int = 200, **extra) -> Response:
    """A one-message page (a link followed, a confirmation), optionally with one button that POSTs."""
    return render(
        request,
        "digest/message.html",
        {"title": title, "message": message, "form_action": None, "button": None, **extra},
        status_code=status,
    )


def followed_link(request: Request, refused: type[Exception], title: str, follow: Callable[[], str]) -> Response:
    """The page an emailed link leads to: what `follow()` did, under `title`, or why the link is not valid (400)."""
    try:
        said = follow()
    except refused as exc:
        return message_page(request, "Link not valid", str(exc), status=400)
    return message_page(request, title, said)
