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


# -- issue 11: honest search on the page (point 1) and its wording (point 8) ---------------------------


def test_a_query_nothing_matches_says_so_and_offers_what_to_try(client):
    r = client.get("/search", params={"q": "zzqxjv plorkt"})
    assert r.status_code == 200 and _result_ids(r.text) == []
    assert "No papers match" in r.text and "0 results" in r.text
    assert 'name="mode"' in r.text and "author:" in r.text  # ways to try again are offered
    api = client.get("/api/v1/search", params={"q": "zzqxjv plorkt"}).json()
    assert api["count"] == 0 and api["data"] == [] and "No papers match" in api["hint"]


def test_did_you_mean_links_the_corrected_query(client):
    r = client.get("/search", params={"q": "difusion transfromer"})
    assert "Did you mean" in r.text and 'href="/search?q=diffusion+transformer"' in r.text
    assert (
        client.get("/api/v1/search", params={"q": "difusion transfromer"}).json()["suggestion"]
        == "diffusion transformer"
    )


def test_keyword_count_does_not_stop_at_100(client, web_pb):
    from paperboy.index.lexical import _text_analyzer

    an = _text_analyzer()
    truth = sum("model" in an.analyze(f"{p.title}\n{p.abstract}") for p in web_pb.iter_papers())
    assert truth > 100
    r = client.get("/search", params={"q": "model", "mode": "lexical"})
    assert f'id="result-count">{truth:,} results' in r.text
    assert client.get("/api/v1/search", params={"q": "model", "mode": "lexical"}).json()["count"] == truth
    cat = client.get("/search", params={"category": "cs.CL"}).text  # filters only: the category page's count
    listing = client.get("/categories/cs.CL").text
    n = re.search(r"([\d,]+) papers?, newest first", listing).group(1)
    assert f'id="result-count">{n} result' in cat


def test_search_page_has_one_search_box_and_a_mode_choice(client):
    html = client.get("/search", params={"q": "diffusion", "mode": "lexical"}).text
    assert html.count('type="search"') == 1
    assert re.search(r'<select[^>]*name="mode"', html)
    assert '<option value="lexical" selected>' in html
    for mode in ("hybrid", "dense"):
        assert f'<option value="{mode}"' in html
    assert client.get("/").text.count('type="search"') == 1  # other pages keep the box in the header


def test_while_the_index_is_built_search_says_so(client, web_pb):
    from filelock import FileLock

    # web_pb has keyword indexes only; an update holding the lock (another process: a file lock) is embedding.
    with FileLock(web_pb.settings.index_dir / "update.lock"):
        html = client.get("/search", params={"q": "diffusion"}).text
    assert "being built" in html and "% of papers embedded" in html and "not built yet" not in html
    html = client.get("/search", params={"q": "diffusion"}).text
    assert "not built yet" in html
