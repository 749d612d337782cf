"""Server-rendered pages over the real corpus: trending, daily, paper, author, category, about."""

from __future__ import annotations

import re

from tests.web.conftest import XSS


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="title">(?:<span class="rank">\d+\.</span> )?<a href="[^"]+">(.*?)</a>', html)


def test_home_ranks_trending_papers_with_counts_and_windows(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    titles = _titles(r.text)
    assert len(titles) == 20
    # 42 imported upvotes three days before the reference day beat every unvoted paper of the day.
    assert titles[0] == "Popular Paper From Hugging Face Daily"
    assert '<span class="count">42</span>' in r.text
    assert 'aria-current="page">This week' in r.text
    today = client.get("/?window=today").text
    assert "Popular Paper From Hugging Face Daily" not in _titles(today)  # listed 3 days earlier
    month = _titles(client.get("/?window=month").text)
    assert "Popular Paper From Hugging Face Daily" in month
    assert client.get("/?window=all&page=2").status_code == 200


def test_home_rejects_unknown_window_with_a_message(client):
    r = client.get("/?window=decade")
    assert r.status_code == 400
    assert "window must be one of today, week, month, all" in r.text


def test_daily_lists_one_day_with_prev_and_next(client):
    r = client.get("/daily?date=2026-07-01")
    assert r.status_code == 200
    assert "Jul 1, 2026" in r.text
    assert re.search(r"30[01] papers listed this day", r.text)
    assert 'href="/daily?date=2026-06-28"' in r.text  # previous day with papers
    earlier = client.get("/daily?date=2026-06-28").text
    assert "Popular Paper From Hugging Face Daily" in earlier
    assert 'href="/daily?date=2026-07-01"' in earlier  # next day
    assert client.get("/daily").status_code == 200  # default: newest listing day
    empty = client.get("/daily?date=2020-01-01")
    assert empty.status_code == 200 and "No papers were listed on this day" in empty.text


def test_daily_rejects_bad_dates(client):
    for bad in ("2026-13-01", "yesterday", "2026-7-1", "9" * 50):
        r = client.get("/daily", params={"date": bad})
        assert r.status_code == 400, bad
        assert "expected a date like" in r.text


def test_paper_page_has_everything_and_escapes_text(client):
    r = client.get("/papers/2606.99001")
    assert r.status_code == 200
    html = r.text
    assert XSS not in html and "<img src=x" not in html and "<b>Mallory</b>" not in html
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html
    assert 'href="/authors/%3Cb%3EMallory%3C%2Fb%3E%20O%27Hacker"' in html
    assert 'href="https://arxiv.org/abs/2606.99001"' in html and 'href="https://arxiv.org/pdf/2606.99001"' in html
    assert '<span class="math">$\\alpha &lt; \\beta$</span>' in html  # LaTeX kept readable, still escaped
    assert '<textarea id="bibtex"' in html and "eprint = {2606.99001}" in html
    assert 'action="/papers/2606.99001/vote"' in html and 'name="csrf_token"' in html
    assert "Similar papers" in html and "Copy link" in html


def test_paper_page_links_code_and_canonical_address(client):
    html = client.get("/papers/2606.99002").text
    assert 'href="https://github.com/example/popular"' in html
    r = client.get("/papers/2606.99002v3", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/papers/2606.99002"
    bib = client.get("/papers/2606.99002/bibtex")
    assert bib.status_code == 200 and bib.text.startswith("@misc{")


def test_unknown_and_invalid_papers_are_4xx_with_a_reason(client):
    r = client.get("/papers/2401.00001")
    assert r.status_code == 404 and "No paper with id 2401.00001" in r.text
    r = client.get("/papers/not-an-id")
    assert r.status_code == 400 and "Not a paper id" in r.text


def test_author_and_category_pages(client):
    r = client.get("/authors/Ada%20Lovelace")
    assert r.status_code == 200 and "Popular Paper From Hugging Face Daily" in r.text
    assert client.get("/authors/Nobody%20Atall").status_code == 404
    hostile = client.get("/authors/%3Cb%3EMallory%3C%2Fb%3E%20O%27Hacker")
    assert hostile.status_code == 200 and "&lt;b&gt;Mallory&lt;/b&gt; O&#39;Hacker" in hostile.text
    r = client.get("/categories/cs.GR")
    assert r.status_code == 200 and re.search(r"\d+ papers?, newest first", r.text)
    assert client.get("/categories/cs").status_code == 200  # an archive matches its subcategories
    assert client.get("/categories/xx.YY").status_code == 404
    assert client.get("/categories/%3Cscript%3E").status_code == 400
    assert "cs.CV" in client.get("/categories").text


def test_big_category_walk_matches_the_small_path(client, monkeypatch):
    from paperboy.store import listings

    small = [client.get("/categories/cs.CV", params={"page": n}).text for n in (1, 3)]
    monkeypatch.setattr(listings, "SMALL_LISTING", 10)  # force the date-index walk
    big = [client.get("/categories/cs.CV", params={"page": n}).text for n in (1, 3)]
    ids = [re.findall(r'id="paper-([^"]+)"', h) for h in small + big]
    assert ids[0] == ids[2] and ids[1] == ids[3] and len(ids[0]) == 20


def test_about_explains_the_trending_formula(client):
    html = client.get("/about").text
    assert "score = votes / (age_hours + 2) ^ gravity" in html
    assert "1.8" in html and "PAPERBOY_TRENDING_GRAVITY" in html
    for window in ("today", "week", "month", "all"):  # each tab's rule is documented
        assert f'id="window-{window}"' in html
    assert "most upvoted" in html and "without a date" in html


def test_pages_send_security_headers(client):
    r = client.get("/")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_static_assets_and_docs(client):
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/docs").status_code == 200


def test_docs_load_swagger_ui_from_this_server_only(client):
    """Swagger UI works offline: every asset is local and served; the CSP admits its one inline script."""
    import base64
    import hashlib

    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    urls = re.findall(r'(?:src|href)="([^"]*)"', r.text) + re.findall(r"url: '([^']*)'", r.text)
    assert len(urls) >= 4  # script, stylesheet, icon, the OpenAPI document
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"/docs loads {url} from elsewhere"
        got = client.get(url)
        assert got.status_code == 200 and got.content, url
    assert (
        client.get("/docs/assets/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )
    csp = r.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "cdn" not in r.text.lower() and "default-src 'self'" in csp


def test_categories_page_lists_every_category_with_names_and_true_counts(client, web_pb):
    # Issue 11 point 6: primary categories only (cs.LG missing), counts that disagreed, no names.
    counts: dict[str, int] = {}
    for p in web_pb.iter_papers():
        for c in set(p.categories):
            counts[c] = counts.get(c, 0) + 1
    html = client.get("/categories").text
    listed = dict(re.findall(r'<a href="/categories/([^"]+)"[^>]*>.*?</a>\s*<span class="muted">([\d,]+)', html, re.S))
    assert {c: int(n.replace(",", "")) for c, n in listed.items()} == counts
    assert "Computation and Language" in html and "Machine Learning" in html
    for c in ("cs.LG", "cs.CL"):
        page = client.get(f"/categories/{c}").text
        assert f"{counts[c]:,} paper" in page
    assert "Computation and Language" in client.get("/categories/cs.CL").text


def test_daily_has_week_and_month_views(client):
    # Issue 11 point 8: /daily showed one day only.
    day = client.get("/daily", params={"date": "2026-07-01"}).text
    assert 'id="paper-2606.99002"' not in day  # listed 2026-06-28
    week = client.get("/daily", params={"date": "2026-07-01", "view": "week"})
    assert week.status_code == 200
    assert 'id="paper-2606.99002"' in week.text and "30" in week.text
    assert "2026-06-25" in week.text or "25 Jun" in week.text or "Jun 25" in week.text  # the span is shown
    ids = re.findall(r'id="paper-([^"]+)"', week.text)
    assert ids[0] == "2606.99002"  # most upvoted of the week first
    assert 'href="/daily?date=2026-06-24&amp;view=week"' in week.text  # the week before
    month = client.get("/daily", params={"date": "2026-07-01", "view": "month"}).text
    assert 'id="paper-2606.99002"' in month and 'id="paper-2605.99003"' not in month  # 2026-05-20 is older
    assert 'id="paper-2605.99003"' in client.get("/daily", params={"date": "2026-06-18", "view": "month"}).text
    for v in ("day", "week", "month"):  # the three views are linked from each other
        assert f"view={v}" in week.text or v == "day"
    assert client.get("/daily", params={"view": "year"}).status_code == 400
