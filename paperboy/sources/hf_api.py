"""Fetch one day of Hugging Face daily papers (`/api/daily_papers?date=`); parsing is `hf_daily`."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import httpx

from paperboy.models import SourceError, parse_arxiv_id
from paperboy.sources.arxiv_api import _retry_after
from paperboy.sources.oai_pmh import RETRY_STATUSES, ClosingClient, FetchError, Politeness, tls_context, user_agent

HF_API_URL = "https://huggingface.co"


class HfClient(ClosingClient):
    """One polite connection to the Hugging Face API: spaced requests, Retry-After, backoff on errors."""

    def __init__(self, base_url: str, *, politeness: Politeness | None = None, contact: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.polite = politeness or Politeness()
        self.requests = 0
        self._last = float("-inf")
        self._client = httpx.Client(
            verify=tls_context(),
            timeout=self.polite.timeout,
            follow_redirects=True,
            headers={"User-Agent": user_agent(contact), "Accept": "application/json"},
        )

    def _wait_turn(self) -> None:
        wait = self._last + self.polite.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.requests += 1

    def daily(self, day: date) -> bytes | None:
        """The JSON body for `day`, or None when the API has no listing for it (404)."""
        url = f"{self.base_url}/api/daily_papers"
        problem = ""
        for attempt in range(self.polite.max_retries + 1):
            self._wait_turn()
            wait = None
            try:
                resp = self._client.get(url, params={"date": day.isoformat(), "limit": 100})
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                resp = None
            finally:
                self._last = time.monotonic()  # spacing counts from the end of the answer
            if resp is not None:
                if resp.status_code == 200:
                    return resp.content
                if resp.status_code == 404:
                    return None
                if resp.status_code not in RETRY_STATUSES:
                    raise FetchError(f"Hugging Face API answered HTTP {resp.status_code} for {resp.request.url}")
                problem = f"HTTP {resp.status_code}"
                wait = _retry_after(resp.headers.get("Retry-After"))
            if attempt < self.polite.max_retries:
                time.sleep(
                    wait if wait is not None else min(self.polite.backoff * 2**attempt, self.polite.default_retry_after)
                )
        raise FetchError(
            f"Hugging Face API at {self.base_url} unreachable after {self.polite.max_retries + 1} "
            f"attempts (last: {problem})"
        )

    def close(self) -> None:
        self._client.close()


def extras(body: bytes) -> dict[str, dict[str, Any]]:
    """Per arXiv id, what the daily-papers JSON says beyond the Paper fields: AI summary and keywords."""

    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise SourceError(f"not a JSON document: {exc}") from None
    out: dict[str, dict[str, Any]] = {}
    for entry in doc if isinstance(doc, list) else []:
        paper = entry.get("paper", entry) if isinstance(entry, dict) else None
        if not isinstance(paper, dict):
            continue
        parsed = parse_arxiv_id(str(paper.get("id") or ""))
        summary = paper.get("ai_summary")
        keywords = paper.get("ai_keywords")
        if not parsed or not (summary or keywords):
            continue
        out[parsed[0]] = {
            "ai_summary": " ".join(summary.split())[:5000] if isinstance(summary, str) else None,
            "ai_keywords": [k.strip()[:200] for k in keywords if isinstance(k, str) and k.strip()][:50]
            if isinstance(keywords, list)
            else None,
        }
    return out
