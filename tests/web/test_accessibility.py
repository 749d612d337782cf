"""Accessibility in Debian's Chromium: axe-core (npm, frontend/axe) on the main pages with no serious or
critical violation, plus what axe cannot judge alone: a skip link and an <h1> on every page, vote buttons
named with their paper, few tab stops per card, AA contrast of the orange buttons, 24-px tap targets on a
phone, and the digest preview styled under its own CSP with no missing favicon.

One browser, one logged-in context, one page load per page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import SHOTS
from tests.web.conftest import LiveServer

# The pages' markup does not depend on the database: the PostgreSQL pass would only repeat this.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "frontend" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
EMAIL = "a11y@example.org"
# WCAG 2.0-2.2 A/AA rules, and axe's best practices; target-size (WCAG 2.2 AA) is checked on the phone.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
LOGGED_OUT = ["/login", "/signup"]
LOGGED_IN = ["/", "/daily", "/search?q=diffusion+models", "/papers/2606.99002", "/settings", "/about", "/categories"]


def _axe(page, rules: dict | None = None) -> list[dict]:
    """Serious and critical violations axe finds on the loaded page."""
    opts = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    if rules:
        opts["rules"] = rules
    result = page.evaluate("opts => axe.run(document, opts)", opts)
    return [
        {
            "page": page.url,
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _luminance(rgb: str) -> float:
    vals = [int(x) / 255 for x in re.findall(r"\d+", rgb)[:3]]
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in vals]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


@pytest.fixture
def live(app, web_pb):
    with LiveServer(app) as server:
        yield server


def test_main_pages_pass_axe_and_keyboard_checks(browser, live, app, web_pb):
    assert AXE.is_file(), "run scripts/build_frontend.sh (npm ci in frontend/axe) first"
    com = app.state.community
    user = com.mark_verified(com.sign_up(EMAIL, "a long enough password").id)
    com.upvote(user, "2606.99002")
    from paperboy.service.digest_model import Options

    # Trending only: the preview's styling is under test, not the recommender (which costs seconds).
    web_pb.digests.subscribe(EMAIL, Options(searches=False, recommended=False), confirmed=True)
    token = com.start_session(user)
    found, problems = [], []
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(path=str(AXE))  # injected by the browser itself: the site's CSP allows no inline script
    page = ctx.new_page()
    console: list[str] = []
    missing: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)

    def check_page(path: str) -> None:
        page.goto(live.url + path)
        found.extend(_axe(page))
        if path in ("/", "/settings"):
            page.screenshot(path=str(SHOTS / ("settings.png" if path == "/settings" else "home-cards.png")))
        if page.locator("h1").count() < 1:
            problems.append(f"{path}: no <h1>")
        page.keyboard.press("Tab")  # the first stop of every page skips to its content
        first = page.evaluate("() => [document.activeElement.getAttribute('href'), document.activeElement.innerText]")
        if first != ["#main", "Skip to content"]:
            problems.append(f"{path}: first tab stop is {first}, not the skip link")

    for path in LOGGED_OUT:
        check_page(path)
    ctx.add_cookies([{"name": "pb_session", "value": token, "url": live.url}])
    for path in LOGGED_IN:
        check_page(path)
        if path == "/search?q=diffusion+models":
            assert page.locator("article.card").count() > 0, "the search found nothing to check"
            # White on the orange buttons: WCAG AA contrast for normal text (4.5:1).
            fg, bg = page.locator(".search-row button[type=submit]").first.evaluate(
                "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
            )
            assert _contrast(fg, bg) >= 4.5, (fg, bg, _contrast(fg, bg))
        if page.locator("article.card").count():
            card = page.locator("article.card").first
            # Tab stops: focusable elements, those inside a closed <details> (the Collect form) not counted.
            stops = card.evaluate("""c => [...c.querySelectorAll(
                'a[href], button, input:not([type=hidden]), select, textarea, summary')]
                .filter(e => e.tagName === 'SUMMARY' || !e.closest('details:not([open])')).length""")
            if stops > 5:  # the vote, the title link, comments, Collect, "Not interested"
                problems.append(f"{path}: {stops} tab stops in one card")
        if path == "/papers/2606.99002":  # the reader's own vote: named with the paper, pressed
            own = page.get_by_role("button", name="Upvote Popular Paper From Hugging Face Daily, 43 votes", exact=True)
            assert own.count() == 1 and own.get_attribute("aria-pressed") == "true"
        votes = page.evaluate("""() => [...document.querySelectorAll('form.vote button')]
            .map(b => [b.getAttribute('aria-label') || '', b.getAttribute('aria-pressed')])""")
        for name, pressed in votes:
            if not re.fullmatch(r"Upvote .+, \d+ votes?", name) or pressed not in ("true", "false"):
                problems.append(f"{path}: vote button named {name!r}, aria-pressed={pressed!r}")
    nav = page.locator("nav.nav")
    assert nav.get_by_role("link", name="Recommended for you").is_visible()
    assert nav.get_by_role("link", name="Subscribe").is_visible()

    # The digest preview: styled (its own CSP lets the email's inline styles through), no CSP
    # refusals, and no request for a missing /favicon.ico.
    console.clear()
    missing.clear()
    page.goto(live.url + "/digest/preview")
    page.wait_for_load_state("load")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    assert page.evaluate("() => getComputedStyle(document.querySelector('.brand')).fontWeight") == "700"
    assert not console and not missing, (console, missing)

    # A phone: axe's target-size rule (24 x 24 px, or spacing that makes up for it) on the busiest pages.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone.add_init_script(path=str(AXE))
    phone.add_cookies([{"name": "pb_session", "value": token, "url": live.url}])
    small = phone.new_page()
    for path in ("/", "/papers/2606.99002"):
        small.goto(live.url + path)
        found.extend(_axe(small, {"target-size": {"enabled": True}}))
        tiny = small.evaluate("""() => [...document.querySelectorAll('nav a, nav button, form.vote button, .dismiss button')]
            .filter(e => e.offsetParent !== null)
            .map(e => e.getBoundingClientRect()).filter(r => r.height < 24 || r.width < 24).length""")
        if tiny:
            problems.append(f"phone {path}: {tiny} controls under 24 px")
    phone.close()
    ctx.close()
    assert not found, "\n".join(f"{v['page']} {v['id']} ({v['impact']}): {v['nodes']}" for v in found)
    assert not problems, problems
