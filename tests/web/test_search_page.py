"""The search page: one box, category and date filters, sort, pagination, safe highlighting."""

from __future__ import annotations

import re

from paperboy.web.render import highlight, snippet
from tests.web.conftest import XSS


def _result_ids(html: str) -> list[str]:
    return re.findall(r'<article class="card" id="paper-([^"]+)">', html)


def test_search_finds_real_papers_and_highlights_terms(client):
    r = client.get("/search", params={"q": "multi-stage training"})
    assert r.status_code == 200
    assert re.search(r'id="result-count">\d+ results? for “multi-stage training”', r.text)
    assert "<mark>Multi</mark>-<mark>Stage</mark> Knowledge Integration" in r.text
    assert len(_result_ids(r.text)) == 20


def test_pagination_keeps_the_filters(client):
    first = client.get("/search", params={"q": "model", "category": "cs.CV"})
    assert 'rel="next" href="/search?q=model&amp;category=cs.CV&amp;page=2"' in first.text
    second = client.get("/search", params={"q": "model", "category": "cs.CV", "page": 2})
    assert second.status_code == 200
    assert set(_result_ids(first.text)).isdisjoint(_result_ids(second.text))
    assert 'rel="prev" href="/search?q=model&amp;category=cs.CV"' in second.text


def test_category_filter_and_date_range(client, web_pb):
    ids = _result_ids(client.get("/search", params={"q": "model", "category": "cs.GR"}).text)
    assert ids
    for pid in ids:
        assert any(c.startswith("cs.GR") for c in web_pb.paper(pid).categories)
    r = client.get("/search", params={"q": "diffusion", "since": "2026-05-01", "until": "2026-05-31"})
    assert r.status_code == 200
    assert _result_ids(r.text) == ["2605.99003"]  # the only paper of May 2026


def test_sort_by_upvotes_and_by_date(client):
    html = client.get("/search", params={"q": "paper", "sort": "upvotes"}).text
    assert _result_ids(html)[0] == "2606.99002"  # 42 upvotes
    assert '<option value="upvotes" selected>' in html
    assert client.get("/search", params={"q": "paper", "sort": "date"}).status_code == 200


def test_filters_without_query_list_papers(client):
    r = client.get("/search", params={"category": "cs.GR"})
    assert r.status_code == 200 and _result_ids(r.text)


def test_hostile_queries_are_escaped_or_refused(client):
    r = client.get("/search", params={"q": XSS + ' "unclosed (paren AND OR'})
    assert r.status_code in (200, 400)
    assert XSS not in r.text
    r = client.get("/search", params={"q": "x" * 10_000})
    assert r.status_code == 400 and "the limit is 500" in r.text
    r = client.get("/search", params={"q": "transformers", "since": "not-a-date"})
    assert r.status_code == 400 and "since: expected a date" in r.text
    r = client.get("/search", params={"q": "transformers", "since": "2026-02-01", "until": "2026-01-01"})
    assert r.status_code == 400 and "since is after until" in r.text
    r = client.get("/search", params={"q": "transformers", "sort": "random"})
    assert r.status_code == 400 and "sort must be one of" in r.text
    r = client.get("/search", params={"q": "transformers", "page": 10**9})
    assert r.status_code == 400
    r = client.get("/search", params={"q": "transformers", "page": 400})  # deep but allowed: empty page
    assert r.status_code == 200


def test_xss_paper_in_results_is_escaped(client):
    r = client.get("/search", params={"q": "robust transformers", "mode": "lexical"})
    assert "2606.99001" in _result_ids(r.text)
    assert XSS not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;" in r.text


def test_highlight_escapes_before_marking():
    out = str(highlight("a <b>bold</b> & amp claim", "amp bold"))
    assert out == "a &lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; <mark>amp</mark> claim"
    assert str(highlight("<script>", "")) == "&lt;script&gt;"
    assert "<mark>script</mark>" in str(highlight("<script>", "script"))
    long = "word " * 200 + "needle here " + "word " * 200
    s = str(snippet(long, "needle"))
    assert s.startswith("… ") and "<mark>needle</mark>" in s and s.endswith(" …")
