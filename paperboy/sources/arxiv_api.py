"""Fetch pages of Atom from the arXiv export API, politely; parse them with `arxiv_atom.parse_feed`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypedDict, Unpack

import httpx

from paperboy.models import SourceError
from paperboy.sources.arxiv_atom import api_error, page_info

ARXIV_API_URL = "https://export.arxiv.org/api/query"
USER_AGENT = "paperboy (self-hosted paper discovery; https://info.arxiv.org/help/api/tou.html)"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 300.0  # never sleep longer than this on one Retry-After


class FetchError(SourceError):
    """The arXiv API could not be reached or kept failing after the allowed attempts.

    `transient`: the same request may well work later (network down, 5xx/429); False for a refusal (4xx).
    """

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class _Fetcher:
    """One polite client: a minimum interval between requests, retries with exponential backoff."""

    def __init__(
        self, client: httpx.Client, base_url: str, min_interval: float, max_attempts: int, backoff: float
    ) -> None:
        self.client, self.base_url = client, base_url
        self.min_interval, self.max_attempts, self.backoff = min_interval, max(1, max_attempts), backoff
        self._last = float("-inf")

    def _wait_turn(self) -> None:
        delay = self._last + self.min_interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def get(self, params: dict) -> bytes:
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            self._wait_turn()
            retry_after = None
            try:
                resp = self.client.get(self.base_url, params=params)
            except httpx.TransportError as exc:
                self._last = time.monotonic()
                problem = f"{type(exc).__name__}: {exc}"
            else:
                # Spacing counts from the end of the answer, so the server never sees two requests
                # closer (counting from the start let a slow first connection eat into the interval).
                self._last = time.monotonic()
                if resp.status_code == 200:
                    return resp.content
                message = api_error(resp.content) if resp.content else None
                if resp.status_code not in RETRY_STATUSES:
                    raise FetchError(
                        f"arXiv API answered HTTP {resp.status_code} for {resp.request.url}"
                        + (f": {message}" if message else "")
                    )
                problem = f"HTTP {resp.status_code}"
                retry_after = _retry_after(resp.headers.get("Retry-After"))
            if attempt < self.max_attempts:
                time.sleep(retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1))
        raise FetchError(
            f"arXiv API at {self.base_url} still failing after {self.max_attempts} attempts (last: {problem})",
            transient=True,
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Connection(TypedDict, total=False):
    """How `fetch_query` and `fetch_ids` reach the API (each optional): the endpoint, an httpx client
    to reuse, the seconds between requests (arXiv asks for at least 3), attempts per request and the
    first retry wait (doubling)."""

    base_url: str
    client: httpx.Client | None
    min_interval: float
    max_attempts: int
    backoff: float


@contextmanager
def _fetcher(
    client: httpx.Client | None = None,
    base_url: str = ARXIV_API_URL,
    min_interval: float = 3.0,
    max_attempts: int = 4,
    backoff: float = 2.0,
) -> Iterator[_Fetcher]:
    own = client is None
    client = client or httpx.Client(timeout=60.0, follow_redirects=True, headers={"User-Agent": USER_AGENT})
    try:
        yield _Fetcher(client, base_url, min_interval, max_attempts, backoff)
    finally:
        if own:
            client.close()


def fetch_query(
    query: str,
    max_results: int,
    *,
    page_size: int = 100,
    sort_by: str = "submittedDate",
    sort_order: str = "descending",
    **connection: Unpack[Connection],
) -> Iterator[bytes]:
    """Yield Atom pages for `search_query=query`, newest submissions first, up to `max_results` entries.

    arXiv asks for at least 3 s between requests (`min_interval`). A 429/5xx or network error is
    retried up to `max_attempts` times, waiting Retry-After when given, else `backoff * 2**n` seconds;
    then FetchError. An API error feed raises SourceError with arXiv's message.
    """
    params = {"search_query": query, "sortBy": sort_by, "sortOrder": sort_order}
    with _fetcher(**connection) as fetcher:
        start = 0
        while start < max_results:
            body, total, count = _page(
                fetcher, {**params, "start": start, "max_results": min(page_size, max_results - start)}, start
            )
            yield body
            start += count
            if count == 0 or (total is not None and start >= total):
                return


def fetch_ids(ids: list[str], *, page_size: int = 100, **connection: Unpack[Connection]) -> Iterator[bytes]:
    """Yield Atom pages for the given arXiv ids (`id_list=`), `page_size` ids per request."""
    with _fetcher(**connection) as fetcher:
        for i in range(0, len(ids), page_size):
            chunk = ids[i : i + page_size]
            params = {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}
            yield _page(fetcher, params, 0)[0]


def _page(fetcher: _Fetcher, params: dict, start: int) -> tuple[bytes, int | None, int]:
    # arXiv sometimes answers an empty page in the middle of a result set; asking again usually works.
    for _ in range(fetcher.max_attempts):
        body = fetcher.get(params)
        total, count = page_info(body, fetcher.base_url)
        if count or total is None or start >= total:
            return body, total, count
    raise FetchError(f"arXiv API kept answering an empty page at start={start} of {total} results")
