"""Saved-search alerts match like the search page with every word required, and say why (issue 11 point 4)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from paperboy.cli.digest import digest

from .conftest import email_env


def _words(p) -> str:
    return f"{p.title} {p.abstract}".lower()


def test_saved_search_alert_needs_every_word_and_says_where_it_matched(email_home, email_pb, digests, sink, tmp_path):
    # Before: one matching word was enough ("decoding" alone), so a financial-agents benchmark came as
    # "matches your search". Two papers of the real July shard hold both words; 13 more hold one of them.
    com = email_pb.community
    user = com.sign_up("alert@example.org", "password123")
    com.save_search(user, "speculative decoding", {})
    com.save_search(user, '"knowledge distillation" -survey', {})
    d = digests.preview("alert@example.org")
    items = [it for s in d.sections if s.key == "searches" for it in s.items]
    spec = [it for it in items if "speculative decoding" in it.reason]
    assert len(spec) == 2
    for it in spec:
        text = _words(it.paper)
        assert re.search(r"\bspeculat", text) and re.search(r"\bdecod", text)
        assert re.search(r"(title|abstract)", it.reason.split("”", 1)[1]), it.reason  # where it matched
    distil = [it for it in items if "knowledge distillation" in it.reason]
    assert distil and all(
        "knowledge distillation" in _words(it.paper) and "survey" not in _words(it.paper) for it in distil
    )
    # `paperboy digest preview` shows the same reasons in the text part.
    out = tmp_path / "preview.txt"
    res = CliRunner().invoke(
        digest,
        ["preview", "alert@example.org", "--out", str(out)],
        env=email_env(email_home, sink.port),
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert text.count("Why: matches your search “speculative decoding”") == 2
