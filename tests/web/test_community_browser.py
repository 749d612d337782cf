"""Browser tier (Chromium): a new user discusses a paper and shares a collection; hostile comments stay inert; math renders.

One browser, one journey: sign up, comment, reply, edit, collect, make the collection public, open its
shared link logged out. Along the way: the code link of a paper with code, KaTeX under the site's CSP.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import page_errors
from tests.web.conftest import LiveServer

# The PostgreSQL pass runs the same service calls in test_discussions.py; this file checks pages and scripts.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

CODE_PAPER = "2606.99002"  # has code_url https://github.com/example/popular
MATH_PAPER = "2606.99001"  # abstract with $\alpha < \beta$ and hostile markup
HOSTILE = (
    '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> '
    "[x](javascript:window.pwned=3) $</span><script>window.pwned = 4</script>$ \x07bell"
)


def test_new_user_discusses_and_shares_a_collection(browser, app):
    from playwright.sync_api import expect

    with LiveServer(app) as live:
        base = live.url
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        errors = page_errors(page)
        page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))

        # The paper page of a paper with code shows the link, in "Code & links".
        page.goto(f"{base}/signup?next=/papers/{CODE_PAPER}")
        page.fill('input[name="email"]', "newcomer@example.org")
        page.fill('input[name="password"]', "a long enough password")
        page.click('form.stack button[type="submit"]')
        page.wait_for_url(f"{base}/papers/{CODE_PAPER}")
        expect(page.locator(".paper-links a.code-link")).to_have_attribute("href", "https://github.com/example/popular")

        # Comment, reply, edit.
        page.fill("#comment-body", "Is the **code** complete? $O(n^2)$")
        page.click(".comment-form button[type=submit]")
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        first = page.locator("article.comment").first
        expect(first.locator(".comment-body strong")).to_have_text("code")
        expect(first.locator(".comment-body .math-rendered .katex")).to_have_count(1)  # KaTeX, no CSP errors
        first.locator("details.reply summary").click()
        first.locator("details.reply textarea").fill("Answering myself: yes.")
        first.locator("details.reply button").click()
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        reply = page.locator("article.comment.depth-1")
        expect(reply.locator(".comment-body")).to_have_text("Answering myself: yes.")
        reply.locator("details.edit summary").click()
        reply.locator("details.edit textarea").fill("Answering myself: yes, all of it.")
        reply.locator("details.edit button").click()
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        expect(page.locator("article.comment.depth-1 .comment-body")).to_have_text("Answering myself: yes, all of it.")
        expect(page.locator("article.comment.depth-1 .comment-head")).to_contain_text("(edited)")

        # A hostile body is stored and shown as text: no script runs, no dialog, no handler.
        page.fill("#comment-body", HOSTILE)
        page.click(".comment-form button[type=submit]")
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        last = page.locator("article.comment").last
        expect(last.locator(".comment-body")).to_contain_text("<script>window.pwned = 1</script>")
        assert last.locator(".comment-body script, .comment-body img").count() == 0
        assert page.evaluate("() => window.pwned") is None

        # Collect: create a collection from the paper page's Collect form, then make it public.
        page.locator(".links details.collect summary").click()
        page.locator('.links details.collect input[name="name"]').fill("Reading group")
        page.locator(".links details.collect form:last-child button").click()
        page.wait_for_url(re.compile(r"/papers/"))
        page.goto(f"{base}/collections")
        page.click("text=Reading group")
        page.wait_for_url(re.compile(r"/collections/\d+$"))
        collection_url = page.url
        assert page.locator(f"article#paper-{CODE_PAPER}".replace(".", "\\.")).count() == 1
        page.locator("details.collection-settings summary").click()
        page.check('details.collection-settings input[name="public"]')
        page.click("details.collection-settings form.stack button")
        page.wait_for_url(collection_url)
        shared = page.locator("#share-url").input_value()
        assert shared == collection_url

        # The math of a paper's abstract renders with KaTeX from this server.
        page.goto(f"{base}/papers/{MATH_PAPER}")
        expect(page.locator(".abstract.full .math-rendered .katex")).to_have_count(1)

        # The newcomer follows the link of their confirmation email: comments of confirmed accounts only
        # are shown to others (as votes count only from confirmed accounts).
        com = app.state.community
        page.goto(f"{base}/verify/{com.verification_token(com.user_by_email('newcomer@example.org'))}")
        expect(page.get_by_text("newcomer@example.org is confirmed")).to_be_visible()

        # Logged out, in a fresh context: the shared link shows the collection and its paper.
        anon = browser.new_context().new_page()
        anon.on("pageerror", lambda e: errors.append(str(e)))
        anon.goto(shared)
        expect(anon.locator("h1.collection-name")).to_have_text("Reading group")
        expect(anon.locator("article.card h2.title a")).to_have_text("Popular Paper From Hugging Face Daily")
        assert anon.locator("nav.nav").get_by_text("Log in").is_visible()
        anon.goto(f"{base}/papers/{CODE_PAPER}")
        expect(anon.locator("article.comment")).to_have_count(3)
        assert anon.evaluate("() => window.pwned") is None

        assert errors == []
        ctx.close()
