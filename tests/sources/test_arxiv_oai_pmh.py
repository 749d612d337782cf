"""The arXiv OAI-PMH parser on pages in arXiv's OAI format made from the shared sample."""

from __future__ import annotations

import io
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import detect_format
from paperboy.sources.arxiv_oai_pmh import parse, parse_page
from tests.oai_server import OAI_HEAD, load_sample, record_xml


@pytest.fixture(scope="module")
def sample(arxiv_shards) -> list[dict]:
    return load_sample(arxiv_shards[-1:], 5)


def page(records: str, token: str = "") -> bytes:
    return (
        OAI_HEAD
        + "<request>x</request><ListRecords>"
        + records
        + f'<resumptionToken cursor="0" completeListSize="9">{token}</resumptionToken></ListRecords></OAI-PMH>'
    ).encode()


def test_records_become_papers_with_token_and_datestamps(sample):
    rec = dict(sample[0], journal_ref="J. Test 1 (2026)", updated="2026-07-09", created="2026-07-01")
    body = page(record_xml(rec, "2026-07-10") + record_xml(sample[1], "2026-07-11"), token="1|cs|||2")
    got = parse_page(body, "p1")
    assert got.token == "1|cs|||2" and got.complete_size == 9 and got.cursor == 0
    first = got.records[0]
    assert isinstance(first, Paper) and first.arxiv_id == sample[0]["id"] and first.title == sample[0]["title"]
    assert first.categories == sample[0]["categories"] and first.journal_ref == "J. Test 1 (2026)"
    assert first.published == date(2026, 7, 1) and first.updated == date(2026, 7, 9)
    assert first.authors == sample[0]["authors"]
    assert got.datestamps == {sample[0]["id"]: "2026-07-10", sample[1]["id"]: "2026-07-11"}
    assert detect_format(body) == "arxiv-oai-pmh"
    assert [p.arxiv_id for p in parse(io.BytesIO(body), "f.xml")] == [sample[0]["id"], sample[1]["id"]]


def test_last_page_deleted_records_bad_records_and_errors(sample):
    deleted = (
        '<record><header status="deleted"><identifier>oai:arXiv.org:2501.00001</identifier>'
        "<datestamp>2026-07-01</datestamp></header></record>"
    )
    bad = record_xml(dict(sample[2], id="not-an-id"), "2026-07-01")
    got = parse_page(page(deleted + bad + record_xml(sample[3], "2026-07-01")), "p9")
    assert got.token is None and got.deleted == ["2501.00001"]
    assert isinstance(got.records[0], Rejected) and "p9:line" in got.records[0].location
    assert [r.arxiv_id for r in got.records[1:]] == [sample[3]["id"]]
    err = parse_page((OAI_HEAD + '<error code="noRecordsMatch">nothing</error></OAI-PMH>').encode(), "p")
    assert err.error_code == "noRecordsMatch" and err.records == []


def test_malformed_xml_names_the_page_and_line(sample):
    body = page(record_xml(sample[0], "2026-07-01"))
    with pytest.raises(SourceError, match=r"^page 3:\d+: malformed OAI-PMH XML"):
        parse_page(body[: len(body) // 2], "page 3")
    with pytest.raises(SourceError, match="not an OAI-PMH response"):
        parse_page(b"<html><body>busy</body></html>", "page 4")
