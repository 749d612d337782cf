"""Hugging Face /api/daily_papers JSON."""

import io
import json
from datetime import date

import pytest

from paperboy.models import Paper, Rejected, SourceError
from paperboy.sources import hf_daily

# Shaped like a real /api/daily_papers answer (ids and user records trimmed).
DAILY = [
    {
        "paper": {
            "id": "2401.02954",
            "authors": [
                {"_id": "65990f1a", "name": "DeepSeek-AI", "hidden": False},
                {"_id": "65990f1b", "name": "Xiao Bi", "status": "claimed_verified", "hidden": False},
            ],
            "publishedAt": "2024-01-05T18:59:13.000Z",
            "submittedOnDailyAt": "2024-01-08T00:23:14.592Z",
            "title": "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
            "submittedOnDailyBy": {"_id": "60f1abe7", "fullname": "AK", "user": "akhaliq", "type": "user"},
            "summary": "The rapid development of open-source large language models (LLMs) has\nbeen truly remarkable.",
            "upvotes": 40,
            "discussionId": "659b9a5e",
            "githubRepo": "https://github.com/deepseek-ai/DeepSeek-LLM",
            "githubStars": 6100,
            "projectPage": "https://deepseek.com",
        },
        "publishedAt": "2024-01-08T00:23:14.592Z",
        "title": "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
        "summary": "The rapid development of open-source large language models (LLMs) has been truly remarkable.",
        "thumbnail": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2401.02954.png",
        "numComments": 3,
        "submittedBy": {"_id": "60f1abe7", "fullname": "AK", "name": "akhaliq", "type": "user", "isPro": False},
    },
    {
        "paper": {
            "id": "2401.01234",
            "title": "Tiny &amp; <i>Fast</i> $O(n<m)$",
            "authors": [{"name": "Ada Lovelace", "hidden": True}],
            "summary": "Short.",
            "publishedAt": "2024-01-03T18:00:00.000Z",
            "upvotes": 12,
        },
        "publishedAt": "2024-01-04T09:00:00.000Z",
        "submittedBy": "someuser",
        "numComments": 0,
    },
    {"paper": {"id": "2401.00003", "title": 42, "summary": "x"}},
    "not an object",
    {"paper": {"id": "2401.00004", "title": "No summary, upvotes as text", "upvotes": "many"}},
    {"paper": {"id": "not-arxiv", "title": "A paper without an arXiv id", "summary": "x"}},
]


def run(data: bytes, origin: str = "daily.json"):
    out = list(hf_daily.parse(io.BytesIO(data), origin))
    return [o for o in out if isinstance(o, Paper)], [o for o in out if isinstance(o, Rejected)]


def test_daily_papers():
    papers, rejected = run(json.dumps(DAILY).encode())
    a, b, c = papers
    assert (a.arxiv_id, a.title) == ("2401.02954", "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism")
    assert a.abstract == "The rapid development of open-source large language models (LLMs) has been truly remarkable."
    assert a.authors == ["DeepSeek-AI", "Xiao Bi"]
    assert (a.published, a.listed, a.upvotes, a.submitted_by) == (date(2024, 1, 5), date(2024, 1, 8), 40, "akhaliq")
    assert (a.code_url, a.github_stars, a.project_url) == (
        "https://github.com/deepseek-ai/DeepSeek-LLM",
        6100,
        "https://deepseek.com",
    )
    assert a.source == "hf-daily" and a.source_ref == "daily.json:record 1"
    assert (b.title, b.authors, b.submitted_by) == ("Tiny & Fast $O(n<m)$", ["Ada Lovelace"], "someuser")
    assert (b.published, b.listed, b.code_url) == (date(2024, 1, 3), date(2024, 1, 4), None)
    assert c.arxiv_id is None and c.paper_id().startswith("pb-")
    assert [(r.location, r.reason) for r in rejected] == [
        ("daily.json:record 3", "field 'title' should be a string, got int"),
        ("daily.json:record 4", "expected a JSON object, got str"),
        ("daily.json:record 5", "field 'upvotes' should be a number, got str"),
    ]


def test_single_object_and_wrapped_list():
    (p,), _ = run(json.dumps(DAILY[0]).encode())
    assert p.arxiv_id == "2401.02954"
    (p,), _ = run(json.dumps(DAILY[0]["paper"]).encode())  # a bare /api/papers/{id} object
    assert p.arxiv_id == "2401.02954" and p.listed == date(2024, 1, 8)
    papers, _ = run(json.dumps({"papers": DAILY[:2]}).encode())
    assert len(papers) == 2


def test_empty_huge_and_broken():
    assert run(b"") == ([], []) and run(b"[]") == ([], [])
    big = [{**DAILY[1], "paper": {**DAILY[1]["paper"], "summary": "y " * 5_000_000}}]
    (p,), _ = run(json.dumps(big).encode())
    assert len(p.abstract) <= 100_000 and p.abstract.startswith("y y")
    with pytest.raises(SourceError, match="daily.json is not a JSON document"):
        run(json.dumps(DAILY).encode()[:-20])
    papers, rejected = run(b'[\n{"paper": {"title": "caf\xe9"}}]')
    assert papers[0].title == "caf\ufffd" and rejected == [
        Rejected("daily.json:2", "not valid UTF-8; undecodable bytes replaced by U+FFFD")
    ]
    with pytest.raises(SourceError, match="does not look like hf-daily"):
        run(b'[{"foo": 1}, {"bar": 2}]')
    with pytest.raises(SourceError, match="expected a JSON list"):
        run(b'"just a string"')


def test_size_limit(monkeypatch):
    monkeypatch.setattr(hf_daily, "MAX_BYTES", 100)
    with pytest.raises(SourceError, match="larger than"):
        run(json.dumps(DAILY).encode())


def test_sniff():
    assert hf_daily.sniff(json.dumps(DAILY, indent=2).encode())
    assert hf_daily.sniff(json.dumps(DAILY[0]["paper"]).encode())
    assert not hf_daily.sniff(b'{"id": "2503.11685", "title": "T", "summary": "S", "crawl_date": "2025-03-18"}\n')
