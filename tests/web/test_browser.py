"""Browser tier: Debian's Chromium, driven by Playwright, through the whole reader's journey on a live server.

Screenshots of the home, search and paper pages (desktop and phone) land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import SHOTS, page_errors
from tests.web.conftest import AtomServer, LiveServer, arxiv_atom

# Pages and scripts in Chromium; the PostgreSQL pass runs the same service calls in the web API tests.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

EMAIL, PASSWORD = "browser@example.org", "a long enough password"
NEW_ID = "2607.04321"


@pytest.fixture
def live(app, web_pb):
    with AtomServer(arxiv_atom([(NEW_ID, "Browser Submitted Paper About Agents", "Agents submit papers.")])) as arxiv:
        web_pb.settings.arxiv_api_url = arxiv.url
        with LiveServer(app) as server:
            yield server


def _count(page, paper_id: str) -> int:
    return int(page.locator(f'form.vote[data-paper="{paper_id}"] .count').first.inner_text())


def _verify(app, email: str) -> None:
    com = app.state.community
    com.mark_verified(com.user_by_email(email).id)


def test_reader_journey(browser, live, app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = page_errors(page)
    base = live.url

    # Home: trending papers with upvote counts.
    page.goto(base + "/")
    assert page.locator("article.card").count() == 20
    page.screenshot(path=str(SHOTS / "home.png"), full_page=False)

    # Search with a filter.
    page.goto(base + "/search")
    page.fill("#q", "multi-stage training")
    page.fill('input[name="category"]', "cs.CV")
    page.click('.search-row button[type="submit"]')
    page.wait_for_url(re.compile(r"/search\?q=multi-stage\+training&category=cs\.CV"))
    assert page.locator("article.card").count() > 0
    assert page.locator("article.card mark").count() > 0
    for chips in page.locator("article.card .meta").all_inner_texts():
        assert "cs.CV" in chips
    page.screenshot(path=str(SHOTS / "search.png"), full_page=False)

    # Open a paper.
    first = page.locator("article.card h2.title a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/papers/"))
    assert page.locator("h1.paper-title").inner_text() == title
    paper_id = page.url.split("/papers/")[1]
    assert page.locator("#bibtex").input_value().startswith("@misc{")
    page.screenshot(path=str(SHOTS / "paper.png"), full_page=True)
    assert _count(page, paper_id) == 0

    # Upvoting while logged out leads to log in; sign up from there and come back.
    page.click(f'form.vote[data-paper="{paper_id}"] button')
    page.wait_for_url(re.compile(r"/login\?next="))
    page.click(".auth >> text=Sign up")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form.stack button[type="submit"]')
    page.wait_for_url(base + f"/papers/{paper_id}")
    assert page.locator("nav.nav").get_by_text("Log out").is_visible()
    assert page.locator(".unverified").is_visible()  # votes count once the emailed link is followed
    _verify(app, EMAIL)  # as following it does (tests/web/test_account_security.py follows the real one)

    # Upvote (JS fetch, no reload): the count changes and survives a reload.
    page.evaluate("() => { window.noReload = true; }")
    page.click(f'form.vote[data-paper="{paper_id}"] button')
    expect(page.locator(f'form.vote[data-paper="{paper_id}"] .count').first).to_have_text("1")
    assert page.evaluate("() => window.noReload === true"), "the vote reloaded the page instead of using fetch()"
    page.reload()
    assert _count(page, paper_id) == 1
    assert "voted" in page.locator(f'form.vote[data-paper="{paper_id}"]').first.get_attribute("class")
    # ...and un-vote.
    page.click(f'form.vote[data-paper="{paper_id}"] button')
    expect(page.locator(f'form.vote[data-paper="{paper_id}"] .count').first).to_have_text("0")
    page.reload()
    assert _count(page, paper_id) == 0

    # Log out, then log in again.
    page.click("nav.nav >> text=Log out")
    page.wait_for_url(base + "/")
    page.click("nav.nav >> text=Log in")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form.stack button[type="submit"]')
    page.wait_for_url(base + "/")
    assert page.locator("nav.nav").get_by_text("Library").is_visible()

    # Save a search.
    page.goto(base + "/search?q=diffusion&category=cs.CV")
    page.click("text=Save this search")
    page.wait_for_url(base + "/searches")
    assert page.locator(".saved-search").count() == 1
    assert "diffusion" in page.locator(".saved-search").inner_text()

    # Submit a paper id; it is fetched from the stand-in arXiv in the background.
    page.goto(base + "/submit")
    page.fill("#paper", f"https://arxiv.org/abs/{NEW_ID}")
    page.click('form.search-row button[type="submit"]')
    page.wait_for_url(re.compile(r"/submit"))
    for _ in range(50):
        if page.locator("tr.state-done").count():
            break
        page.wait_for_timeout(100)
        page.reload()
    assert page.locator("tr.state-done").count() == 1
    page.click("tr.state-done >> text=Open paper")
    page.wait_for_url(base + f"/papers/{NEW_ID}")
    assert "Browser Submitted Paper About Agents" in page.locator("h1").inner_text()

    # Phone-sized view of the paper and home pages.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    p2 = phone.new_page()
    p2.goto(base + f"/papers/{paper_id}")
    assert p2.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
    p2.screenshot(path=str(SHOTS / "paper-phone.png"), full_page=False)
    p2.goto(base + "/")
    assert p2.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "home scrolls sideways"
    p2.screenshot(path=str(SHOTS / "home-phone.png"), full_page=False)
    phone.close()
    ctx.close()
    assert not errors, errors


def test_pages_work_without_javascript(browser, live, app):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    base = live.url
    page.goto(base + "/signup")
    page.fill('input[name="email"]', "nojs@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('form.stack button[type="submit"]')
    page.wait_for_url(base + "/")
    _verify(app, "nojs@example.org")
    page.goto(base + "/papers/2606.99002")
    assert _count(page, "2606.99002") == 42
    page.click('form.vote[data-paper="2606.99002"] button')  # plain form POST + redirect
    page.wait_for_load_state()
    assert _count(page, "2606.99002") == 43
    ctx.close()


def test_api_docs_render_offline(browser, live):
    """/docs draws the API's operations with every request to another host refused (no CDN)."""
    ctx = browser.new_context()
    elsewhere: list[str] = []

    def local_only(route) -> None:
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    ctx.route("**/*", local_only)
    page = ctx.new_page()
    errors = page_errors(page)  # CSP refusals too
    page.goto(live.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock").count() >= 5
    assert page.locator(".opblock-summary-path", has_text="/api/v1/search").count() >= 1
    page.locator(".opblock-summary-path", has_text="/api/v1/search").first.click()  # expands: React still works
    page.get_by_role("button", name="Try it out").click()
    page.get_by_placeholder("q").fill("diffusion")
    page.get_by_role("button", name="Execute").click()
    # A generous bound on a wait for the answer (not a timing check): a loaded CI machine took over 5 s.
    expect(page.locator(".live-responses-table .response-col_description pre").first).to_contain_text(
        '"An Older Paper About Diffusion"', timeout=60_000
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "docs.png"), full_page=False)
    ctx.close()
    assert not elsewhere and not errors, (elsewhere, errors)
