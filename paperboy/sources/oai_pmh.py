"""Fetch OAI-PMH `ListRecords` pages politely (oaipmh-scythe underneath); parsing is `arxiv_oai_pmh.parse_page`.

The caller drives the paging one page at a time, so it can store each page and its resumption
token before asking for the next one (a crash then resumes at the page it was on).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import Self

import httpx2
from oaipmh_scythe import Scythe
from oaipmh_scythe.config import HTTPConfig, RetryConfig
from oaipmh_scythe.exceptions import OAIPMHException

from paperboy.models import SourceError
from paperboy.sources.arxiv_api import MAX_RETRY_AFTER, _retry_after

ARXIV_OAI_URL = "https://oaipmh.arxiv.org/oai"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class FetchError(SourceError):
    """The OAI-PMH endpoint could not be reached or kept failing after the allowed attempts."""


def user_agent(contact: str | None, version: str = "1") -> str:
    """The User-Agent arXiv asks harvesters for: the software and a contact address."""
    return f"paperboy/{version} (self-hosted paper discovery{'; mailto:' + contact if contact else ''})"


@dataclass(slots=True)
class Politeness:
    """How the client treats the server: spacing of requests, retries, waits."""

    min_interval: float = 3.0  # seconds from one answer to the next request (arXiv asks for 3 between requests)
    max_retries: int = 5  # per request, for 503/429/5xx and network errors together
    backoff: float = 5.0  # first wait after a network error; doubles per retry (capped)
    default_retry_after: float = 30.0  # wait after a 5xx without Retry-After
    timeout: float = 60.0


@cache
def tls_context() -> ssl.SSLContext:
    """One verified TLS context per process: loading the CA bundle costs ~0.1 s per client otherwise."""
    return ssl.create_default_context()


class _PoliteScythe(Scythe):
    """Scythe with a minimum interval between requests and a Retry-After that accepts HTTP dates and is capped."""

    def __init__(self, endpoint: str, politeness: Politeness, agent: str) -> None:
        super().__init__(
            endpoint,
            http_config=HTTPConfig(timeout=politeness.timeout, user_agent=agent),
            retry_config=RetryConfig(
                max_retries=politeness.max_retries,
                retry_status_codes=RETRY_STATUSES,
                default_retry_after=max(politeness.default_retry_after, 0.001),
                retry_on_transport_error=True,
                initial_backoff=max(politeness.backoff, 0.001),
            ),
        )
        self.min_interval = politeness.min_interval
        self.requests = 0
        self._last = float("-inf")

    @property
    def client(self) -> httpx2.Client:
        if self._client is None or self._client.is_closed:
            self._client = httpx2.Client(
                headers={
                    "Accept": "text/xml; charset=utf-8, application/xml; charset=utf-8",
                    "User-Agent": self.http_config.user_agent,
                },
                timeout=self.timeout,
                verify=tls_context(),
                default_encoding=self.encoding,
            )
        return self._client

    def _request(self, query: dict[str, str]) -> httpx2.Response:
        wait = self._last + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.requests += 1
        try:
            return super()._request(query)
        finally:
            # Counted from the end of the previous answer: the server never sees two requests closer.
            self._last = time.monotonic()

    def _get_retry_after(self, http_response: httpx2.Response) -> float:
        seconds = _retry_after(http_response.headers.get("retry-after"))
        if seconds is None:
            return min(self.default_retry_after, MAX_RETRY_AFTER)
        # Never come back sooner than the politeness interval, whatever the server says.
        return max(seconds, self.min_interval)


class ClosingClient:
    """A client that holds a connection: close() it, or use it in a `with` block."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OaiClient(ClosingClient):
    """One connection to an OAI-PMH endpoint; `list_records` returns one page's body and its OAI error, if any."""

    def __init__(self, endpoint: str, *, politeness: Politeness | None = None, contact: str | None = None) -> None:
        self.endpoint = endpoint
        self._scythe = _PoliteScythe(endpoint, politeness or Politeness(), user_agent(contact))

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (retries included)."""
        return self._scythe.requests

    def list_records(
        self,
        *,
        metadata_prefix: str = "arXiv",
        set_: str | None = None,
        from_: str | None = None,
        until: str | None = None,
        resumption_token: str | None = None,
    ) -> bytes:
        """The body of one ListRecords page; an OAI-PMH error answer raises OaiError with its code."""
        if resumption_token:
            query = {"verb": "ListRecords", "resumptionToken": resumption_token}
        else:
            query = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
            query.update({k: v for k, v in (("set", set_), ("from", from_), ("until", until)) if v})
        try:
            response = self._scythe.harvest(query)
        except OAIPMHException as exc:  # noRecordsMatch, badResumptionToken, ... (an <error> in the answer)
            raise OaiError(type(exc).__name__, str(exc)) from None
        except httpx2.HTTPStatusError as exc:
            raise FetchError(
                f"OAI-PMH endpoint {self.endpoint} answered HTTP {exc.response.status_code} "
                f"after {self.requests} requests"
            ) from None
        except httpx2.TransportError as exc:
            raise FetchError(f"OAI-PMH endpoint {self.endpoint} unreachable ({type(exc).__name__}: {exc})") from None
        return response.http_response.content

    def close(self) -> None:
        self._scythe.close()


class OaiError(SourceError):
    """An OAI-PMH protocol error answer (badResumptionToken, noRecordsMatch, ...), by its code."""

    def __init__(self, exc_name: str, message: str) -> None:
        self.code = exc_name[:1].lower() + exc_name[1:]
        super().__init__(f"OAI-PMH error {self.code}: {message}".rstrip(": "))
