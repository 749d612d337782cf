"""/map in Chromium: the WebGL map draws, hover shows a title, a search and the reader's profiles are drawn, the
month slider filters, a click opens the paper. One browser, one journey, three page loads."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from paperboy.ranking.topics import month_index
from tests.browser import SHOTS, page_errors
from tests.map.conftest import map_settings
from tests.web.conftest import LiveServer

# The map in Chromium; the PostgreSQL pass runs the same map and routes in test_map.py.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

BACKGROUND = np.array([252, 252, 253])  # the stage's clear colour (backgroundColor in frontend/map/src/map.js)


def _ink(png: bytes) -> float:
    """Share of pixels that differ from the map's background."""
    import io

    import matplotlib.image

    img = (matplotlib.image.imread(io.BytesIO(png))[:, :, :3] * 255).round()
    return float((np.abs(img - BACKGROUND).sum(axis=2) > 30).mean())


def test_map_journey(browser, map_home):
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    pb = Paperboy(map_settings(map_home))
    d = pb.map.data()
    try:
        with LiveServer(create_app(pb)) as srv:
            page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            errors = page_errors(page)

            # Page load 1: sign up; upvote one paper so the map has a "you are here".
            page.goto(srv.url + "/signup")
            page.fill("input[name=email]", "mapper@example.org")
            page.fill("input[name=password]", "a long enough password")
            page.click("form.stack button[type=submit]")
            page.wait_for_url(lambda u: "/signup" not in u)
            token = page.get_attribute('meta[name="csrf-token"]', "content")
            mine = 11
            r = page.request.post(f"{srv.url}/api/v1/papers/{d.ids[mine]}/vote", headers={"X-CSRF-Token": token})
            assert r.ok, r.text()
            reader = pb.community.user_by_email("mapper@example.org")
            robots = pb.profiles.create(reader.id, "robots")
            pb.profiles.rate(reader.id, robots.id, d.ids[mine + 1], 1)

            # Page load 2: the map.
            page.goto(srv.url + "/map")
            stage = page.locator("#map-stage")
            expect(stage).to_have_attribute("data-state", "ready", timeout=60_000)
            assert page.evaluate("window.paperboyMap.count()") == len(d)
            assert page.evaluate("performance.getEntriesByName('map-first-paint', 'mark').length") == 1
            # "You are here": the library (in the default profile) and the second profile, each its own marker.
            expect(page.locator("#map-you")).to_contain_text("2 of your papers")
            expect(page.locator("#map-you .map-you-profile")).to_have_text(["◯ My interests (1)", "□ robots (1)"])
            assert stage.get_attribute("data-you-drawn") == "2"
            assert int(stage.get_attribute("data-labels")) >= 2  # broad topic labels at this zoom
            expect(page.locator(".map-label:not([hidden])").first).to_be_visible()
            SHOTS.mkdir(parents=True, exist_ok=True)
            shot = stage.screenshot(path=str(SHOTS / "map.png"))
            assert _ink(shot) > 0.005, "the map looks blank"

            # Hover: the tooltip names the paper under the mouse.
            row = page.evaluate("window.paperboyMap.topicRow(0)")
            box = stage.bounding_box()
            x, y = page.evaluate(f"window.paperboyMap.screenPosition({row})")
            page.mouse.move(box["x"] + x, box["y"] + y)
            expect(page.locator("#map-tip")).to_be_visible()
            hovered = int(stage.get_attribute("data-hover"))
            expect(page.locator("#map-tip")).to_contain_text(d.titles[hovered][:40])

            # A search drawn on the map.
            page.fill("#map-search input[name=q]", d.titles[3])
            page.click("#map-search button")
            expect(page.locator("#map-search-status")).to_contain_text("hits on the map")
            assert int(stage.get_attribute("data-hits")) >= 1

            # Colour by date, then the month slider back to the first month.
            page.select_option("#map-colour", "date")
            expect(stage).to_have_attribute("data-colour", "date")
            slider = page.locator("#map-month")
            slider.evaluate("el => { el.value = el.min; el.dispatchEvent(new Event('input')); }")
            months = month_index(d.day[d.day >= 0])
            in_first = int((months == months.min()).sum())
            expect(stage).to_have_attribute("data-visible", str(in_first))
            assert 0 < in_first < len(d)
            slider.evaluate("el => { el.value = el.max; el.dispatchEvent(new Event('input')); }")
            expect(stage).to_have_attribute("data-visible", str(len(d)))

            # Page load 3: click the hovered point, land on its paper page.
            x, y = page.evaluate(f"window.paperboyMap.screenPosition({row})")
            page.mouse.move(box["x"] + x + 1, box["y"] + y)
            expect(stage).to_have_attribute("data-hover", str(hovered))
            page.mouse.click(box["x"] + x + 1, box["y"] + y)
            page.wait_for_url(f"**/papers/{d.ids[hovered]}")
            expect(page.locator("h1")).to_contain_text(d.titles[hovered][:30])
            page.context.close()
    finally:
        pb.close()
    assert not errors, errors
