"""Browser tier: interest profiles in Chromium — cold start from the sign-up form, create a profile, import a
BibTeX export, rank a pasted list for it with reasons, rate a recommendation 👍 and mark one "Not interested"
in the profile being viewed, follow a digest's signed 👍 link (few page loads)."""

from __future__ import annotations

import re

import pytest

from paperboy.service.profiles import Feedback
from tests.web.conftest import LiveServer

# Pages and scripts in Chromium; the PostgreSQL pass runs the same service calls in tests/email/test_profiles.py.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

EMAIL, PASSWORD = "profiles@example.org", "a long enough password"


def write_bib(path, papers):
    """A BibTeX export of stored arXiv papers, the way Zotero writes it."""
    path.write_text(
        "\n".join(
            f"@article{{k{i},\n  title = {{{p.title}}},\n  author = {{Doe, Jane}},\n"
            f"  eprint = {{{p.arxiv_id}}},\n  archivePrefix = {{arXiv}},\n  year = {{2026}},\n}}\n"
            for i, p in enumerate(papers)
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def live(app):
    with LiveServer(app) as server:
        yield server


def test_signup_cold_start_profile_import_rank_and_feedback(browser, live, web_pb, tmp_path):
    hits = [h.paper for h in web_pb.search("segmentation", mode="lexical", limit=40).hits if h.paper.arxiv_id]
    lib, cands = hits[:3], hits[3:11]
    assert len(lib) == 3 and len(cands) == 8
    bib = write_bib(tmp_path / "zotero.bib", lib)
    accepted = write_bib(tmp_path / "accepted.bib", cands[6:])  # "a conference's accepted papers"
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = live.url

    page.goto(base + "/signup?next=/profiles")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    # Cold start: fields chosen on the sign-up form, then a short list of their papers to pick from.
    boxes = page.locator('fieldset.signup-categories input[name="category"]')
    chosen = {boxes.nth(k).get_attribute("value") for k in range(2)}
    for k in range(2):
        boxes.nth(k).check()
    with page.expect_navigation():
        page.click('form[action="/signup"] button[type="submit"]')
    offered = page.locator('section.pick input[name="paper"]')
    assert offered.count() >= 3
    picked = {offered.nth(k).get_attribute("value") for k in range(3)}
    for k in range(3):
        offered.nth(k).check()
    page.click('section.pick button[type="submit"]')
    page.wait_for_url(re.compile(r"/profiles$"))
    user = web_pb.community.log_in(EMAIL, PASSWORD, "127.0.0.1")
    default = web_pb.profiles.default(user.id)
    assert set(web_pb.profiles.ratings(default)[0]) == picked  # the picks start the first profile
    assert all(chosen & set(p.categories) for p in web_pb.store.get_many(list(picked)).values())

    page.fill('form.new-profile input[name="name"]', "street scenes")
    with page.expect_navigation():
        page.click('form.new-profile button[type="submit"]')
    section = page.locator("section.profile", has_text="street scenes")
    section.locator('input[name="bibtex"]').set_input_files(str(bib))
    with page.expect_navigation():
        section.locator('form[action$="/import"] button').click()
    assert "Imported 3 papers into “street scenes”" in page.locator("main").inner_text()
    prof = next(p for p in web_pb.profiles.of(user.id) if p.name == "street scenes")
    assert set(web_pb.profiles.ratings(prof)[0]) == {p.id for p in lib}

    page.goto(base + "/rank")
    page.select_option('select[name="profile"]', str(prof.id))
    page.fill('textarea[name="ids"]', " ".join(p.id for p in cands[:6]))
    page.set_input_files('form.rank-form input[name="bibtex"]', str(accepted))
    with page.expect_navigation():
        page.click('form.rank-form button[type="submit"]')
    rows = page.locator("li.ranked-paper")
    assert rows.count() == len(cands)
    assert {rows.nth(k).get_attribute("data-id") for k in range(rows.count())} == {p.id for p in cands}
    assert all("in your street scenes profile" in t for t in page.locator("li.ranked-paper .why").all_inner_texts())

    page.goto(base + f"/recommended?profile={prof.id}")
    first = page.locator("div.rec").first
    pid = first.get_attribute("id").removeprefix("rec-")
    assert "in your street scenes profile" in first.locator("p.why").inner_text()
    with page.expect_navigation():
        first.locator("button.up").click()
    assert page.url.endswith(f"/recommended?profile={prof.id}")
    assert web_pb.profiles.rating_map(prof, [pid]) == {pid: 1}

    # "Not interested" on a card counts in the profile being viewed (its 👎), not in the default profile.
    card = page.locator("div.rec").first
    other = card.get_attribute("id").removeprefix("rec-")
    assert other != pid
    with page.expect_navigation():
        card.locator("form.dismiss button").click()
    assert web_pb.profiles.rating_map(prof, [other]) == {other: -1}
    assert other not in web_pb.profiles.ratings(default)[1] and not web_pb.community.not_interested(user)
    with page.expect_navigation():
        page.locator("form.undo button").click()  # the Undo offered after the mark
    assert web_pb.profiles.rating_map(prof, [other]) == {}

    # A digest's signed 👍 link opened in the browser: the page only asks (a scanner's GET records nothing);
    # its button records the rating in the link's profile.
    page.goto(base + "/feedback/" + web_pb.profiles.feedback_token(Feedback(user.id, prof.id, other, 1)))
    assert "Record 👍" in page.locator("main").inner_text()
    assert web_pb.profiles.rating_map(prof, [other]) == {}
    with page.expect_navigation():
        page.locator('main form[method="post"] button').click()
    assert "Recorded 👍" in page.locator("main").inner_text()
    assert web_pb.profiles.rating_map(prof, [other]) == {other: 1}
    assert errors == []
