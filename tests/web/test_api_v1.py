"""The /api/v1 JSON API: same service calls as the pages, PaperPublic/PapersPublic shapes, OpenAPI docs."""

from __future__ import annotations

import re

from tests.web.conftest import XSS


def test_paper(client):
    r = client.get("/api/v1/papers/2606.99002")
    assert r.status_code == 200
    p = r.json()
    assert p["id"] == "2606.99002" and p["upvotes"] == 42 and p["url"] == "/papers/2606.99002"
    assert p["authors"] == ["Ada Lovelace", "Alan Turing"] and p["published"] == "2026-06-27"
    assert p["voted"] is None  # not logged in
    assert client.get("/api/v1/papers/2606.99001").json()["title"].startswith(f"Robust {XSS}")  # JSON keeps text as is
    r = client.get("/api/v1/papers/2401.00001")
    assert r.status_code == 404 and r.json() == {"detail": "No paper with id 2401.00001."}
    assert client.get("/api/v1/papers/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)


def test_search_matches_the_page(client):
    api = client.get("/api/v1/search", params={"q": "multi-stage training", "limit": 20}).json()
    assert set(api) >= {"data", "count", "query", "mode", "warnings", "limit", "offset"}
    assert api["count"] >= 20 and len(api["data"]) == 20
    page = client.get("/search", params={"q": "multi-stage training"}).text
    assert re.findall(r'<article class="card" id="paper-([^"]+)">', page) == [p["id"] for p in api["data"]]
    assert all(p["matched_by"] for p in api["data"])
    f = client.get("/api/v1/search", params={"q": "model", "category": ["cs.GR"], "limit": 5}).json()
    assert all("cs.GR" in p["categories"] for p in f["data"])


def test_search_validation_is_422_with_reasons(client):
    r = client.get("/api/v1/search", params={"q": "x" * 501})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    for params in ({"limit": 0}, {"limit": 1000}, {"offset": -1}, {"sort": "x"}, {"mode": "telepathy"}):
        assert client.get("/api/v1/search", params={"q": "a", **params}).status_code == 422, params
    r = client.get("/api/v1/search", params={"q": "a", "since": "2026-99-01"})
    assert r.status_code == 400 and "since: expected a date" in r.json()["detail"]


def test_similar(client):
    r = client.get("/api/v1/papers/2606.30647/similar", params={"limit": 5})
    assert r.status_code == 200
    data = r.json()
    assert 1 <= data["count"] <= 5 and "2606.30647" not in [p["id"] for p in data["data"]]
    assert client.get("/api/v1/papers/2401.00001/similar").status_code == 404


def test_trending_and_daily(client):
    t = client.get("/api/v1/trending", params={"window": "week", "limit": 3}).json()
    assert t["data"][0]["id"] == "2606.99002" and t["window"] == "week" and t["gravity"] == 1.8
    assert t["as_of"] == "2026-07-01" and t["data"][0]["score"] > 0
    d = client.get("/api/v1/daily", params={"date": "2026-06-28"}).json()
    assert [p["id"] for p in d["data"]] == ["2606.99002"]
    assert d["date"] == "2026-06-28" and d["next"] == "2026-07-01" and d["prev"] == "2026-05-20"
    latest = client.get("/api/v1/daily").json()
    assert latest["date"] == "2026-07-01" and latest["count"] >= 300
    assert client.get("/api/v1/trending", params={"window": "year"}).status_code == 422


def test_openapi_documents_public_schemas(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"PaperPublic", "PapersPublic", "SearchPublic", "VotePublic", "HfPaper", "HfDailyPaper"} <= set(schemas)
    assert set(schemas["PapersPublic"]["properties"]) == {"data", "count"}
    paths = spec["paths"]
    for p in (
        "/api/v1/search",
        "/api/v1/papers/{paper_id}",
        "/api/v1/papers/{paper_id}/similar",
        "/api/v1/trending",
        "/api/v1/daily",
        "/api/v1/papers/{paper_id}/vote",
        "/api/papers/search",
        "/api/papers/{arxiv_id}",
        "/api/daily_papers",
    ):
        assert p in paths, p
    assert set(paths["/api/v1/papers/{paper_id}/vote"]) == {"post", "delete"}
    assert "/login" not in paths  # HTML routes stay out of the API docs
    assert client.get("/docs").status_code == 200
    # Exact where the server shares behaviour (scripts/contract.py checks it all against a served instance):
    feed = paths["/feeds/trending.{fmt}"]["get"]["responses"]
    assert set(feed["200"]["content"]) == {"application/atom+xml", "application/rss+xml"} and "422" not in feed
    assert {"400", "414", "503"} <= set(paths["/api/v1/search"]["get"]["responses"])
    r = client.request("OPTIONS", "/api/v1/papers/2606.99002/vote")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, POST"  # every method, not one route's
