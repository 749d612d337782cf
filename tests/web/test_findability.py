"""Findability: "Recommended for you" and "Subscribe" in the navigation; "Not interested" on every card
of a listing, with an Undo and a page listing the marks."""

from __future__ import annotations

import re

from tests.web.conftest import csrf_of, sign_up

PAPER = "2606.99002"


def test_navigation_links_recommended_and_subscribe(client):
    nav = re.search(r'<nav class="nav".*?</nav>', client.get("/").text, re.S).group(0)
    assert 'href="/subscribe"' in nav and 'href="/recommended"' not in nav  # recommendations need an account
    sign_up(client)
    nav = re.search(r'<nav class="nav".*?</nav>', client.get("/daily").text, re.S).group(0)
    assert ">Recommended for you</a>" in nav and 'href="/subscribe"' in nav and 'href="/settings"' in nav


def test_not_interested_on_listing_cards_with_undo_and_a_list(client):
    assert "Not interested" not in client.get("/").text  # logged out: nothing to remember it for
    sign_up(client)
    for page in ("/", "/daily", "/search?q=diffusion", f"/papers/{PAPER}"):
        assert "Not interested<span" in client.get(page).text, page
    token = csrf_of(client, "/")
    r = client.post(
        "/recommended/not-interested",
        follow_redirects=False,
        data={"paper": PAPER, "csrf_token": token, "next": f"/?window=all#paper-{PAPER}"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/?window=all&dismissed={PAPER}#paper-{PAPER}"
    page = client.get(r.headers["location"]).text
    assert "Marked as not interested." in page and 'name="action" value="undo"' in page
    assert re.search(rf'<article class="card dismissed" id="paper-{re.escape(PAPER)}">', page)
    listed = client.get("/not-interested").text
    assert "Popular Paper From Hugging Face Daily" in listed and "Undo" in listed

    r = client.post(
        "/recommended/not-interested",
        follow_redirects=False,
        data={"paper": PAPER, "action": "undo", "csrf_token": token, "next": f"/?window=all&dismissed={PAPER}"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/?window=all"
    assert 'class="card dismissed"' not in client.get("/?window=all").text
    assert "Popular Paper From Hugging Face Daily" not in client.get("/not-interested").text
