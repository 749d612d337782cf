"""Hugging Face Papers-compatible routes, driven by the real huggingface_hub client against uvicorn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.web.conftest import LiveServer

# Runs in a fresh interpreter: huggingface_hub reads HF_HUB_OFFLINE at import, and the suite sets it to 1.
CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=sys.argv[1], token=False)

    def info(p):
        return {"id": p.id, "title": p.title, "summary": p.summary, "upvotes": p.upvotes,
                "authors": [a.name for a in p.authors or []],
                "published_at": p.published_at.isoformat() if p.published_at else None,
                "submitted_at": p.submitted_at.isoformat() if p.submitted_at else None,
                "submitted_by": p.submitted_by.username if p.submitted_by else None,
                "github_repo": p.github_repo}

    out = {
        "search": [info(p) for p in api.list_papers(query="multi-stage training", limit=5)],
        "paper": info(api.paper_info("2606.99002")),
        "paper_v": info(api.paper_info("2606.99002v2")),
        "daily": [info(p) for p in api.list_daily_papers(date="2026-06-28")],
        "daily_default": [info(p) for p in api.list_daily_papers(limit=3)],
        "week": [info(p) for p in api.list_daily_papers(week="2026-W26", sort="trending")],
        "month_p1": [info(p) for p in api.list_daily_papers(month="2026-07", limit=10, p=1)],
        "submitter": [info(p) for p in api.list_daily_papers(month="2026-06", submitter="akhaliq")],
    }
    try:
        api.paper_info("2401.00001")
    except HfHubHTTPError as e:
        out["missing"] = [e.response.status_code, str(e)]
    try:
        list(api.list_daily_papers(week="2026-W99"))
    except HfHubHTTPError as e:
        out["bad_week"] = [e.response.status_code, str(e)]
    print(json.dumps(out))
""")


@pytest.fixture
def hf_results(app, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_HUB_OFFLINE="0",
        TRANSFORMERS_OFFLINE="0",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HOME=str(tmp_path / "hf-home"),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    with LiveServer(app) as server:
        run = subprocess.run(
            [sys.executable, "-c", CLIENT_SCRIPT, server.url], env=env, capture_output=True, text=True, timeout=120
        )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_real_huggingface_hub_client_works_unchanged(hf_results):
    r = hf_results
    assert len(r["search"]) == 5
    titles = [p["title"] for p in r["search"]]
    assert any("Multi-Stage" in t or "Multi-stage" in t for t in titles)
    assert all(p["summary"] for p in r["search"])

    p = r["paper"]
    assert p["id"] == "2606.99002" and p["title"] == "Popular Paper From Hugging Face Daily"
    assert p["upvotes"] == 42 and p["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert p["published_at"] == "2026-06-27T00:00:00+00:00"
    assert p["submitted_at"] == "2026-06-28T00:00:00+00:00"
    assert p["submitted_by"] == "akhaliq" and p["github_repo"] == "https://github.com/example/popular"
    assert r["paper_v"]["id"] == "2606.99002"

    assert [d["id"] for d in r["daily"]] == ["2606.99002"]
    assert r["daily"][0]["title"] == "Popular Paper From Hugging Face Daily" and r["daily"][0]["upvotes"] == 42
    assert r["daily"][0]["submitted_at"] == "2026-06-28T00:00:00+00:00"
    assert len(r["daily_default"]) == 3  # newest listing day
    assert r["week"][0]["id"] == "2606.99002"  # ISO week 26 of 2026 holds June 22-28
    assert len(r["month_p1"]) == 10
    assert [d["id"] for d in r["submitter"]] == ["2606.99002"]

    assert r["missing"][0] == 404 and "not found" in r["missing"][1]
    assert r["bad_week"][0] == 400 and "ISO week" in r["bad_week"][1]


def test_hf_routes_shapes_directly(client):
    items = client.get("/api/daily_papers", params={"date": "2026-06-28"}).json()
    item = items[0]
    assert set(item) >= {"paper", "publishedAt", "title", "summary", "numComments", "submittedBy"}
    assert item["paper"]["publishedAt"] == "2026-06-27T00:00:00.000Z"
    assert item["publishedAt"] == "2026-06-28T00:00:00.000Z"
    assert item["paper"]["authors"][0] == {"name": "Ada Lovelace", "hidden": False}
    # date and week together: the narrower (the date) wins
    r = client.get("/api/daily_papers", params={"date": "2026-06-28", "week": "2026-W20"})
    assert [x["paper"]["id"] for x in r.json()] == [x["paper"]["id"] for x in items]
    # ... but a malformed one beside it is still refused, as the document's patterns say
    assert client.get("/api/daily_papers", params={"date": "2026-06-28", "month": "06/2026"}).status_code == 400
    assert client.get("/api/daily_papers", params={"sort": "random"}).status_code == 400
    assert client.get("/api/daily_papers", params={"p": 10**6}).status_code == 400
    assert client.get("/api/papers/search", params={"q": "a" * 501}).status_code == 400
    assert client.get("/api/papers/search").status_code == 200
