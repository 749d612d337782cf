"""Loopback servers for harvest tests: arXiv's OAI-PMH (metadataPrefix=arXiv) and Hugging Face daily papers JSON.

Both speak the real protocols over HTTP on 127.0.0.1 and log every request with the server's own
receive time (time.monotonic()), so politeness is checked where the requests arrive. Faults are
planned by request number: `server.faults[n] = "503" | "malformed" | "drop" | "stall" | "slow" | "hold"`.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
    "<responseDate>2026-11-29T12:00:00Z</responseDate>\n"
)
TOP_LEVEL = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat", "nlin", "physics"}


def load_sample(shards: list[Path], limit: int | None = None) -> list[dict]:
    """Records of the shared arXiv sample (JSON Lines), in file order."""
    out: list[dict] = []
    for path in shards:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                out.append(json.loads(line))
                if limit is not None and len(out) >= limit:
                    return out
    return out


def set_spec(category: str) -> str:
    archive = category.split(".")[0]
    return archive if archive in TOP_LEVEL else f"physics:{archive}"


def record_xml(rec: dict, datestamp: str) -> str:
    """One <record> in arXiv's OAI format from a sample record (id, title, authors, categories, summary...)."""
    sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in dict.fromkeys(set_spec(c) for c in rec["categories"]))
    authors = []
    for name in rec.get("authors") or []:
        parts = name.rsplit(" ", 1)
        fore, key = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        authors.append(
            f"<author><keyname>{escape(key)}</keyname>"
            + (f"<forenames>{escape(fore)}</forenames>" if fore else "")
            + "</author>"
        )
    extra = "".join(
        f"<{tag}>{escape(str(rec[key]))}</{tag}>"
        for key, tag in (("comment", "comments"), ("journal_ref", "journal-ref"), ("doi", "doi"))
        if rec.get(key)
    )
    created = rec.get("created") or rec.get("crawl_date") or datestamp
    updated = f"<updated>{rec['updated']}</updated>" if rec.get("updated") else ""
    return (
        f"<record><header><identifier>oai:arXiv.org:{rec['id']}</identifier><datestamp>{datestamp}</datestamp>"
        f"{sets}</header><metadata>"
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">'
        f"<id>{rec['id']}</id><created>{created}</created>{updated}"
        f"<authors>{''.join(authors)}</authors><title>{escape(rec['title'])}</title>"
        f"<categories>{escape(' '.join(rec['categories']))}</categories>{extra}"
        "<license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license>"
        f"<abstract>{escape(rec.get('summary') or '')}</abstract></arXiv></metadata></record>"
    )


@dataclass
class Request:
    at: float  # server receive time, time.monotonic()
    n: int  # 1-based request number
    query: dict[str, str]
    user_agent: str
    answer: str = ""  # what the server did: 200, 503, malformed, drop, ...


class _Base(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.faults: dict[int, str] = {}
        self.retry_after = "1"
        self.slow_seconds = 0.1
        self.cond = threading.Condition()
        self.release = threading.Event()  # lets a "hold" request answer
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> _Base:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()

    def log(self, query: dict[str, str], agent: str) -> Request:
        with self.cond:
            req = Request(time.monotonic(), len(self.requests) + 1, query, agent)
            self.requests.append(req)
            self.cond.notify_all()
            return req

    def wait_requests(self, n: int, timeout: float = 60.0) -> bool:
        """Block until at least n requests arrived (a state, not a sleep; the timeout only ends a hung test)."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.requests) >= n, timeout)

    def answer(self, query: dict[str, str], path: str) -> tuple[int, str, bytes, dict[str, str]]:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server: _Base
    protocol_version = "HTTP/1.1"

    def log_message(self, *_a) -> None:
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        req = self.server.log(query, self.headers.get("User-Agent", ""))
        fault = self.server.faults.get(req.n)
        if fault == "hold":  # answer only once the test lets it (e.g. after a kill -9 of the client)
            self.server.release.wait(60)
        if fault == "stall":  # never answers in time: waits for the client's next request (its retry)
            req.answer = "stall"
            self.server.wait_requests(req.n + 1, 60)
            self.close_connection = True
            return
        if fault == "slow":
            time.sleep(self.server.slow_seconds)
        if fault == "503":
            req.answer = "503"
            self._send(503, "text/plain", b"busy, come back later", {"Retry-After": self.server.retry_after})
            return
        status, ctype, body, headers = self.server.answer(query, url.path)
        if fault == "malformed":
            req.answer = "malformed"
            cut = body[: len(body) // 2] + b"<record><header>&broken;</"
            self._send(status, ctype, cut, headers)
            return
        if fault == "drop":  # promises the whole body, sends half, hangs up
            req.answer = "drop"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        req.answer = str(status)
        self._send(status, ctype, body, headers)

    def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up on us
            self.close_connection = True


@dataclass
class _Item:
    rec: dict
    datestamp: str


class OaiServer(_Base):
    """arXiv's OAI-PMH ListRecords (metadataPrefix=arXiv) over records with datestamps, `page_size` per page."""

    def __init__(self, page_size: int = 50) -> None:
        super().__init__()
        self.page_size = page_size
        self.items: list[_Item] = []
        self.token_generation = 1  # tokens of older generations are refused (badResumptionToken)
        self.version = 0  # bumped by publish() and remove(): cached window listings are then stale
        self._matches: dict = {}

    def publish(self, records: list[dict], datestamp: str | date) -> None:
        """Add (or re-date, as arXiv does on a new version) records with this datestamp."""
        stamp = str(datestamp)
        with self.cond:
            by_id = {it.rec["id"]: it for it in self.items}
            for rec in records:
                if rec["id"] in by_id:
                    by_id[rec["id"]].rec, by_id[rec["id"]].datestamp = rec, stamp
                else:
                    self.items.append(_Item(rec, stamp))
            self.items.sort(key=lambda it: (it.datestamp, it.rec["id"]))
            self.version += 1

    def load(self, dated: list[tuple[dict, str]]) -> None:
        """Replace everything served by these (record, datestamp) pairs at once (the benchmark's 75k)."""
        with self.cond:
            self.items = sorted(
                (_Item(rec, stamp) for rec, stamp in dated), key=lambda it: (it.datestamp, it.rec["id"])
            )
            self.version += 1

    def remove(self, arxiv_id: str) -> None:
        with self.cond:
            self.items = [it for it in self.items if it.rec["id"] != arxiv_id]
            self.version += 1

    def _error(self, code: str, text: str) -> bytes:
        return (
            OAI_HEAD + f'<request verb="ListRecords">{self.url}/oai</request>'
            f'<error code="{code}">{escape(text)}</error></OAI-PMH>'
        ).encode()

    def answer(self, query: dict[str, str], path: str) -> tuple[int, str, bytes, dict[str, str]]:
        xml = "text/xml; charset=utf-8"
        if query.get("verb") != "ListRecords":
            return 200, xml, self._error("badVerb", "only ListRecords here"), {}
        token = query.get("resumptionToken")
        if token:
            try:
                gen, set_, from_, until, offset = token.split("|")
                offset_n = int(offset)
                if int(gen) != self.token_generation:
                    raise ValueError("expired")
            except ValueError:
                return 200, xml, self._error("badResumptionToken", f"token {token} is invalid or expired"), {}
        else:
            if query.get("metadataPrefix") != "arXiv":
                return 200, xml, self._error("cannotDisseminateFormat", "metadataPrefix must be arXiv"), {}
            set_, from_, until, offset_n = query.get("set", ""), query.get("from", ""), query.get("until", ""), 0
        with self.cond:
            key = (set_, from_, until, self.version)
            match = self._matches.get(key)
            if match is None:  # one scan per window, not per page (the benchmark serves 75k records)
                match = [
                    it
                    for it in self.items
                    if (not set_ or set_ in {set_spec(c) for c in it.rec["categories"]})
                    and (not from_ or it.datestamp >= from_)
                    and (not until or it.datestamp <= until)
                ]
                self._matches = {key: match}
        if not match:
            return 200, xml, self._error("noRecordsMatch", "no records in this window"), {}
        page = match[offset_n : offset_n + self.page_size]
        nxt = offset_n + len(page)
        tok = f"{self.token_generation}|{set_}|{from_}|{until}|{nxt}" if nxt < len(match) else ""
        body = (
            OAI_HEAD
            + f'<request verb="ListRecords">{self.url}/oai</request><ListRecords>'
            + "".join(record_xml(it.rec, it.datestamp) for it in page)
            + f'<resumptionToken cursor="{offset_n}" completeListSize="{len(match)}">{tok}</resumptionToken>'
            + "</ListRecords></OAI-PMH>"
        )
        return 200, xml, body.encode(), {}


class HfServer(_Base):
    """Hugging Face's /api/daily_papers?date=YYYY-MM-DD: a JSON list per day, 404 for days without one."""

    def __init__(self) -> None:
        super().__init__()
        self.days: dict[str, object] = {}  # "YYYY-MM-DD" -> list of entries | "malformed"

    def answer(self, query: dict[str, str], path: str) -> tuple[int, str, bytes, dict[str, str]]:
        if path != "/api/daily_papers":
            return 404, "application/json", b'{"error": "Not Found"}', {}
        with self.cond:
            day = self.days.get(query.get("date", ""))
        if day is None:
            return 404, "application/json", b'{"error": "No daily papers for this date"}', {}
        if day == "malformed":
            return 200, "application/json", b'[{"paper": {"id": "2501.00001", "title": "cut', {}
        return 200, "application/json", json.dumps(day).encode(), {}


def hf_entry(rec: dict, day: str, upvotes: int, **paper: object) -> dict:
    """One daily-papers entry in the API's shape for a sample record."""
    return {
        "paper": {
            "id": rec["id"],
            "title": rec["title"],
            "summary": rec.get("summary") or "",
            "authors": [{"name": a} for a in rec.get("authors") or []],
            "publishedAt": f"{day}T00:00:00.000Z",
            "upvotes": upvotes,
            **paper,
        },
        "submittedBy": {"name": "akhaliq", "fullname": "AK"},
        "submittedOnDailyAt": f"{day}T12:00:00.000Z",
        "title": rec["title"],
        "numComments": 0,
    }
