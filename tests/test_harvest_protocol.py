"""The OAI-PMH and Hugging Face fetchers against loopback servers: politeness measured where requests arrive."""

from __future__ import annotations

import socket
from datetime import date

import pytest

from paperboy.sources.arxiv_oai_pmh import parse_page
from paperboy.sources.hf_api import HfClient
from paperboy.sources.oai_pmh import FetchError, OaiClient, OaiError, Politeness
from tests.oai_server import HfServer, OaiServer, load_sample

DELAY = 0.2


@pytest.fixture(scope="module")
def records(arxiv_shards) -> list[dict]:
    return load_sample(arxiv_shards[-1:], 60)


@pytest.fixture
def oai(records):
    server = OaiServer(page_size=20).start()
    server.publish(records, "2026-11-20")
    yield server
    server.stop()


def harvest_all(client: OaiClient) -> list[str]:
    ids, token = [], None
    while True:
        got = parse_page(
            client.list_records(set_="cs", from_="2026-11-01", until="2026-11-30", resumption_token=token), "page"
        )
        ids += [p.arxiv_id for p in got.records]
        if not got.token:
            return ids
        token = got.token


def test_spacing_retry_after_user_agent_and_faults(oai, records):
    oai.faults = {2: "503", 3: "drop", 5: "stall", 6: "slow"}
    oai.retry_after = "0.5"
    polite = Politeness(min_interval=DELAY, max_retries=3, backoff=0.05, default_retry_after=1, timeout=1)
    with OaiClient(oai.url + "/oai", politeness=polite, contact="ops@example.org") as client:
        assert harvest_all(client) == [r["id"] for r in records]  # every record once, in order
        assert client.requests == len(oai.requests) == 6  # 3 pages, and the 503, drop and stall retried
    reqs = oai.requests
    assert [r.answer for r in reqs] == ["200", "503", "drop", "200", "stall", "200"]  # the last one slow
    gaps = [b.at - a.at for a, b in zip(reqs, reqs[1:])]
    assert min(gaps) >= DELAY, gaps  # the server saw at least the configured spacing, retries included
    assert gaps[1] >= 0.5, gaps  # the request after the 503 came after Retry-After
    assert all("paperboy/" in r.user_agent and "mailto:ops@example.org" in r.user_agent for r in reqs)
    assert reqs[0].query == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "set": "cs",
        "from": "2026-11-01",
        "until": "2026-11-30",
    }
    assert set(reqs[-1].query) == {"verb", "resumptionToken"}


def test_protocol_errors_come_back_by_code(oai):
    with OaiClient(oai.url + "/oai", politeness=Politeness(min_interval=0)) as client:
        with pytest.raises(OaiError) as exc:
            client.list_records(set_="cs", from_="2030-01-01", until="2030-01-02")
        assert exc.value.code == "noRecordsMatch"
        with pytest.raises(OaiError) as exc:
            client.list_records(resumption_token="0|cs|||20")  # an expired generation
        assert exc.value.code == "badResumptionToken"


def test_unreachable_endpoint_is_one_clear_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    polite = Politeness(min_interval=0, max_retries=1, backoff=0.01, default_retry_after=0.01)
    with OaiClient(f"http://127.0.0.1:{port}/oai", politeness=polite) as client:
        with pytest.raises(FetchError, match=r"unreachable \(ConnectError"):
            client.list_records(set_="cs")
    with HfClient(f"http://127.0.0.1:{port}", politeness=polite) as hf:
        with pytest.raises(FetchError, match="unreachable after 2 attempts"):
            hf.daily(date(2026, 11, 20))


def test_hf_days_404_and_retry_after():
    server = HfServer().start()
    try:
        server.days["2026-11-20"] = [{"paper": {"id": "2511.00001", "title": "T"}}]
        server.faults = {1: "503"}
        server.retry_after = "0.5"
        with HfClient(server.url, politeness=Politeness(min_interval=DELAY, backoff=0.01)) as hf:
            assert b"2511.00001" in hf.daily(date(2026, 11, 20))
            assert hf.daily(date(2026, 11, 21)) is None
        reqs = server.requests
        assert [r.answer for r in reqs] == ["503", "200", "404"]
        assert reqs[1].at - reqs[0].at >= 0.5 and reqs[2].at - reqs[1].at >= DELAY
        assert reqs[0].query["date"] == "2026-11-20"
    finally:
        server.stop()
