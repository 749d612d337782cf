"""Atom and RSS feeds for trending, daily, searches and categories, checked by parsing them with feedparser."""

from __future__ import annotations

from datetime import date

import feedparser
import pytest

from paperboy.models import Paper
from tests.web.conftest import XSS

FEEDS = [
    "/feeds/trending.{fmt}",
    "/feeds/trending.{fmt}?window=all",
    "/feeds/daily.{fmt}",
    "/feeds/daily.{fmt}?date=2026-06-28",
    "/feeds/search.{fmt}?q=multi-stage+training",
    "/feeds/search.{fmt}?q=diffusion&category=cs.CV&since=2026-01-01",
    "/feeds/categories/cs.CV.{fmt}",
    "/feeds/categories/cs.{fmt}",
]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
@pytest.mark.parametrize("path", FEEDS)
def test_feed_is_well_formed_with_entries(client, path, fmt):
    r = client.get(path.format(fmt=fmt))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith(f"application/{fmt}+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == ("atom10" if fmt == "atom" else "rss20")
    assert feed.feed.title.startswith("paperboy")
    assert feed.entries
    e = feed.entries[0]
    assert e.title and e.link.startswith("http://testserver/papers/")


def test_feed_entries_keep_hostile_text_as_text(client):
    feed = feedparser.parse(client.get("/feeds/categories/cs.CR.atom").content)
    e = next(x for x in feed.entries if x.link.endswith("/papers/2606.99001"))
    assert XSS in e.title  # the title is text in the feed, escaped by XML, shown verbatim by readers
    assert "<script" not in client.get("/feeds/categories/cs.CR.atom").text


def test_control_characters_do_not_break_feeds(client, web_pb):
    web_pb.store.upsert(
        [
            (
                Paper(
                    title="Bell\x07 and \x0bvertical tab",
                    abstract="nul \x00 inside",
                    authors=["A B"],
                    arxiv_id="2606.99077",
                    listed=date(2026, 6, 15),
                    source="test",
                ).with_defaults(),
                False,
            )
        ]
    )
    for fmt in ("atom", "rss"):
        feed = feedparser.parse(client.get(f"/feeds/daily.{fmt}?date=2026-06-15").content)
        assert not feed.bozo
        assert any(x.title == "Bell and vertical tab" for x in feed.entries)


def test_feed_errors_are_4xx(client):
    assert client.get("/feeds/trending.json").status_code == 400
    assert client.get("/feeds/search.atom?since=2026-02-30").status_code == 400
    assert client.get("/feeds/daily.atom?date=nope").status_code == 400
    assert client.get("/feeds/categories/%3Cx%3E.atom").status_code == 400


CONTROLS = ["%1D", "%00", "%0B", "%7F"]
# Every feed route with each place a control character can reach it: the path and each parameter.
HOSTILE_FEEDS = [
    "/feeds/categories/{c}.atom",
    "/feeds/categories/cs{c}.rss",
    "/feeds/categories/{c}cs.CL.atom",
    "/feeds/trending.atom?window={c}",
    "/feeds/daily.rss?date={c}",
    "/feeds/daily.atom?date=2026-06-28{c}",
    "/feeds/search.atom?q={c}",
    "/feeds/search.rss?q=diffusion{c}models",
    "/feeds/search.atom?q=x&category={c}",
    "/feeds/search.atom?q=x&since={c}",
    "/feeds/search.atom?q=x&until=2026{c}",
    "/feeds/search.atom?q=x&sort={c}",
    "/feeds/search.atom?q=x&{c}=1",
    "/feeds/trending{c}.atom",
    "/feeds/comments.atom?x={c}",
    "/feeds/papers/2606.99001{c}/comments.atom",
    "/feeds/papers/{c}/comments.atom",
    "/feeds/collections/1{c}.atom",
]


def test_control_characters_in_feed_and_page_addresses_are_400(client):
    for control in CONTROLS:
        for path in HOSTILE_FEEDS:
            r = client.get(path.format(c=control))
            assert r.status_code == 400, (path, control, r.status_code, r.text[:200])
            assert "Control characters are not allowed" in r.json()["detail"]
    for path in (
        "/categories/%1D",
        "/search?q=a%1Db",
        "/authors/A%1DB",
        "/papers/2606.99001%1D",
        "/daily?date=%1D",
        "/?window=%1D",
        "/discussions?page=%1D",
        "/collections/1%1D",
        "/collections/1.bib?x=%1D",
    ):
        r = client.get(path)
        assert r.status_code == 400, (path, r.status_code)
        assert "Control characters are not allowed" in r.text
