"""Harvest on the web: the admin's followed categories and status, "updated N minutes ago", Hugging Face's data."""

from __future__ import annotations

import html
from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.oai_server import HfServer, hf_entry
from tests.web.conftest import csrf_of, sign_up, web_settings

ADMIN = "admin@example.org"


@pytest.mark.sqlite_only  # pages over the same store calls that tests/test_harvest.py runs on both backends
def test_admin_follows_categories_and_pages_show_harvest(web_home):
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    hf = HfServer().start()
    rec = {"id": "2606.99002", "title": "Popular Paper From Hugging Face Daily", "authors": ["Ada Lovelace"]}
    hf.days["2026-06-28"] = [
        hf_entry(
            rec,
            "2026-06-28",
            57,
            githubRepo="https://github.com/example/popular",
            githubStars=1234,
            ai_summary="Summarised <b>by a model</b>.",
            ai_keywords=["upvotes", "daily papers"],
        )
    ]
    pb = Paperboy(web_settings(web_home, admin_emails=[ADMIN], hf_api_url=hf.url, harvest_min_interval=0.0))
    try:
        with TestClient(create_app(pb), base_url="http://testserver") as c:
            assert "has not harvested" in c.get("/about").text
            rep = pb.harvest.run("hf", from_=date(2026, 6, 28), until=date(2026, 6, 28)).to_dict()
            assert rep["updated"] == 1
            page = c.get("/papers/2606.99002").text
            assert "On Hugging Face Papers" in page and "57 upvotes on Hugging Face" in page
            assert "1234 GitHub stars" in page and "AI summary by Hugging Face" in page
            assert "Summarised &lt;b&gt;by a model&lt;/b&gt;." in page  # their text, escaped
            assert '<span class="chip">daily papers</span>' in page
            assert 'href="/search?q=%22daily+papers%22">daily papers</a>' in page  # HF's keywords: chips that search
            assert "updated less than a minute ago" in c.get("/about").text

            sign_up(c, ADMIN)
            admin = c.get("/admin").text
            assert "Following arXiv and Hugging Face" in admin and "Hugging Face daily papers" in admin
            token = csrf_of(c, "/admin")
            r = c.post(
                "/admin/harvest/follow",
                data={"categories": "cs.CL, stat.ML", "csrf_token": token},
                follow_redirects=False,
            )
            assert r.status_code == 303 and pb.harvest.follow() == ["cs.CL", "stat.ML"]
            admin = html.unescape(c.get("/admin").text)
            assert "Followed categories (admin)" in admin and 'value="cs.CL stat.ML"' in admin
            bad = c.post("/admin/harvest/follow", data={"categories": "cs.CL; DROP TABLE", "csrf_token": token})
            assert bad.status_code == 400 and "not an arXiv category" in bad.text
            assert c.post("/admin/harvest/follow", data={"categories": "cs.CL"}).status_code in (400, 403)
            c.post("/admin/harvest/follow", data={"categories": "", "csrf_token": token})
            assert pb.harvest.follow_origin() != "admin"
    finally:
        pb.close()
        hf.stop()
