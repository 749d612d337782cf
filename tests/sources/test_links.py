"""Code, model, dataset and project links found in real arXiv abstracts and comments, merged with HF data."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from paperboy.models import Paper
from paperboy.sources import hf_daily
from paperboy.sources.links import Link, classify, extract_links, has_code, paper_links

SHARD = (
    Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "arxiv-cs-2025-2026" / "papers-2026-06.jsonl.gz"
)

# Real records of the 2026-06 shard and the links a reader expects from them, in order of appearance.
EXPECTED = {
    # \href{url}{text} with a GitHub repository and a Hugging Face model
    "2606.15937": [
        ("code", "https://github.com/Aditya-Lingam-9000/GOOSE-M2F"),
        ("model", "https://huggingface.co/XYZ9843/GOOSE-M2F"),
    ],
    # \url{...} around a dataset, trailing "}." trimmed
    "2606.20455": [("dataset", "https://huggingface.co/datasets/Haoyuan-Shen/PCFootprint")],
    # no scheme at all
    "2606.12169": [("dataset", "https://huggingface.co/datasets/neginb/OpenMedReason")],
    # GitLab: the project path ends at "/-/tree/<commit>"
    "2606.00076": [("code", "https://gitlab.com/goncalo.coutinho/defocustrackerAI-main")],
    # project page, code and dataset from the comment
    "2606.03168": [
        ("project", "https://ryanchenyn.github.io/projects/JAVEdit"),
        ("code", "https://github.com/RyanChenYN/JAVEdit"),
        ("dataset", "https://huggingface.co/datasets/Coraxor/JAVEdit-100k"),
    ],
    # the licence link (openmdw.ai) is not the paper's; the repository appears twice, kept once
    "2606.02800": [
        ("code", "https://github.com/nvidia/cosmos"),
        ("collection", "https://huggingface.co/collections/nvidia/cosmos3"),
        ("project", "https://research.nvidia.com/labs/cosmos-lab/cosmos3"),
    ],
}


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    assert SHARD.is_file(), f"{SHARD} is missing: these tests read the real corpus"
    out = {}
    with gzip.open(SHARD, "rt", encoding="utf-8") as f:
        for line in f:
            if any(f'"{i}"' in line[:40] for i in EXPECTED):
                rec = json.loads(line)
                out[rec["id"]] = rec
    assert set(out) == set(EXPECTED)
    return out


@pytest.mark.parametrize("arxiv_id", sorted(EXPECTED))
def test_links_in_real_abstracts_and_comments(records, arxiv_id):
    rec = records[arxiv_id]
    links = extract_links(rec["summary"], rec["comment"])
    assert [(link.kind, link.url) for link in links] == EXPECTED[arxiv_id]


def test_classify_edge_cases():
    assert classify("https://arxiv.org/abs/2401.01234") is None
    assert classify("https://github.com/onlyowner") is None
    assert classify("https://huggingface.co/papers/2401.01234") is None
    assert classify("huggingface.co/spaces/a/b,").url == "https://huggingface.co/spaces/a/b"
    assert classify("https://github.com/a/b.git").label == "a/b"
    assert classify("https://en.wikipedia.org/wiki/Foo_(bar))").url == "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert classify("javascript:alert(1)") is None
    assert classify("https://" + "a" * 600 + ".org") is None
    assert extract_links("see <a href=x>github.com/a/b</a>") == [Link("code", "https://github.com/a/b", "a/b")]
    assert extract_links(None, "") == []


def test_hugging_face_repository_and_stars_come_first():
    record = {
        "paper": {
            "id": "2401.02954",
            "title": "DeepSeek LLM",
            "summary": "Code: https://github.com/deepseek-ai/DeepSeek-LLM.",
            "publishedAt": "2024-01-05T18:59:13.000Z",
            "githubRepo": "https://github.com/deepseek-ai/DeepSeek-LLM",
            "githubStars": 6100,
            "projectPage": "https://deepseek.com",
        }
    }
    (p,) = [x for x in hf_daily.parse(io.BytesIO(json.dumps([record]).encode()), "d.json") if isinstance(x, Paper)]
    links = paper_links(p.code_url, p.project_url, p.github_stars, p.abstract, p.comment)
    assert links == [
        Link("code", "https://github.com/deepseek-ai/DeepSeek-LLM", "deepseek-ai/DeepSeek-LLM", 6100),
        Link("project", "https://deepseek.com", "deepseek.com"),
    ]
    assert has_code(links) and not has_code(links[1:])
