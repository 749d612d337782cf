"""Interest profiles end to end on the real (embedded) corpus: migration 0009, BibTeX import, cold start,
per-profile digest sections with exploration, signed feedback links over SMTP + HTTP, and `rank` (CLI, API)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from paperboy.email.send import run_digests
from paperboy.service.digests import Options
from paperboy.service.profiles import InvalidFeedback, ProfileError, ProfileNotFound
from paperboy.service.ranklist import RankInputError
from tests.web.conftest import csrf_of

from .conftest import SECRET, email_env

READER, PASSWORD = "reader@example.org", "correct horse battery"
FEEDBACK = re.compile(r"(More|Less) like this: http://testserver(/feedback/\S+)")


def bib(entries: list[tuple[str, str | None, str]]) -> bytes:
    """BibTeX of (key, arXiv id or None, title) entries, the way Zotero exports them."""
    out = []
    for key, arxiv, title in entries:
        eprint = f"  eprint = {{{arxiv}}},\n  archivePrefix = {{arXiv}},\n" if arxiv else ""
        out.append(
            f"@article{{{key},\n  title = {{{title}}},\n  author = {{Doe, Jane and Roe, Rick}},\n"
            f"{eprint}  year = {{2026}},\n}}\n"
        )
    return "\n".join(out).encode()


def topic_papers(pb, query: str, n: int):
    """n stored arXiv papers matching a query (arXiv ids, so a BibTeX export of them names them exactly)."""
    hits = [h.paper for h in pb.search(query, mode="lexical", limit=n + 40).hits]
    return [p for p in hits if p.arxiv_id][:n]


@pytest.fixture
def reader(email_pb):
    return email_pb.community.sign_up(READER, PASSWORD)


def test_migration_0009_makes_libraries_default_profiles_and_downgrades(email_pb):
    from alembic import command

    from paperboy.store.db import _alembic_config

    store = email_pb.store
    user = email_pb.community.sign_up("old@example.org", "correct horse battery")
    a, b, c = topic_papers(email_pb, "segmentation", 3)
    email_pb.community.upvote(user, a.id)
    email_pb.community.save_paper(user, b.id)
    email_pb.recommender.mark_not_interested(user.id, c.id)
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
        command.upgrade(cfg, "head")
    profs = email_pb.profiles.of(user.id)
    assert [(p.name, p.is_default) for p in profs] == [("My interests", True)]
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT paper_id, rating, origin FROM profile_ratings WHERE profile_id = {profs[0].id} ORDER BY rating"
        ).all()
    assert sorted(rows) == sorted([(c.id, -1, "library"), (a.id, 1, "library"), (b.id, 1, "library")])


def test_profiles_start_from_bibtex_or_picks_and_name_themselves_in_reasons(email_pb, reader):
    pb = email_pb
    rl = topic_papers(pb, "reinforcement learning", 4)
    prof = pb.profiles.create(reader.id, "robot learning")
    with pytest.raises(ProfileError, match="already have"):
        pb.profiles.create(reader.id, "Robot Learning")
    before = pb.store.count()
    data = bib(
        [(f"k{i}", p.arxiv_id, p.title) for i, p in enumerate(rl)]
        + [("new1", None, "A Paper This Instance Has Never Seen About Grasping")]
    )
    data += b"@article{broken,\n  title = {no closing brace\n"
    got = pb.profiles.import_bibtex(reader.id, prof.id, data, "My Library.bib")
    assert set(got.rated) >= {p.id for p in rl} and len(got.rated) == 5
    assert got.added_to_store == 1 and pb.store.count() == before + 1
    assert any("broken" in p or "line" in p for p in got.problems), got.problems
    with pytest.raises(ProfileError, match="could not detect the format"):
        pb.profiles.import_bibtex(reader.id, prof.id, b"not bibtex at all", "x.bib")

    # Cold start: a short diverse list from the chosen categories; the picks become thumbs up.
    picks = pb.profiles.pick_list(["cs.CL", "cs.CV"])
    assert 2 <= len(picks) <= 12 and len({p.id for p in picks}) == len(picks)
    assert all({"cs.CL", "cs.CV"} & set(p.categories) for p in picks)
    cold = pb.profiles.create(reader.id, "language")
    assert pb.profiles.pick(reader.id, cold.id, [p.id for p in picks[:3]] + ["no-such-paper"]) == 3
    assert set(pb.profiles.ratings(cold)[0]) == {p.id for p in picks[:3]}

    # Saved searches belong to one profile: the one chosen when saving (the same search saved for another
    # profile moves there), or the default one; the profiles page moves them.
    default = pb.profiles.default(reader.id)
    saved = pb.profiles.save_search(reader, "grasping", {}, prof.id)
    assert [q for _i, q, _f in pb.profiles.searches(prof)] == ["grasping"] and pb.profiles.searches(default) == []
    assert pb.profiles.save_search(reader, "grasping", {}).id == saved.id
    assert [q for _i, q, _f in pb.profiles.searches(default)] == ["grasping"] and pb.profiles.searches(prof) == []
    pb.profiles.move_search(reader.id, saved.id, prof.id)
    assert [q for _i, q, _f in pb.profiles.searches(prof)] == ["grasping"]
    assert pb.profiles.searches(default) == []
    assert pb.recommender.reader(reader.id, prof.id).searches == [("grasping", {})]
    with pytest.raises(ProfileNotFound):
        pb.profiles.save_search(reader, "grasping", {}, cold.id + 1000)

    # Recommendations for a profile name the reader's own papers of that profile.
    recs = pb.recommender.for_user(reader.id, limit=5, profile_id=prof.id)
    assert recs and all(
        r.reason.startswith("like “") and r.reason.endswith("in your robot learning profile")
        for _p, r in recs
        if r.method not in ("trending", "search")
    )
    assert not {p.id for p, _r in recs} & set(got.rated)


def test_digest_sections_exploration_and_signed_feedback_links(email_pb, reader, sink, clock, digests):
    from fastapi.testclient import TestClient

    from paperboy.web import create_app

    pb = email_pb
    pb.settings.digest_explore_share = 0.5
    default = pb.profiles.default(reader.id)
    seg = pb.profiles.create(reader.id, "segmentation")
    for p in topic_papers(pb, "language model", 3):
        pb.profiles.rate(reader.id, default.id, p.id, 1)
    for p in topic_papers(pb, "segmentation", 3):
        pb.profiles.rate(reader.id, seg.id, p.id, 1)
    # Other readers upvote the papers farthest from the segmentation profile: well rated, outside it.
    rec = pb.recommender
    as_of = rec.community.reference_day()
    pool = rec.pool(as_of, as_of)
    scores = rec.profile_scores(rec.reader(reader.id, seg.id), pool)
    far = [pool.ids[k] for k in scores.argsort()[:3]]
    for n in range(2):
        other = pb.community.sign_up(f"fan{n}@example.org", "correct horse battery")
        for pid in far:
            pb.community.upvote(other, pid)
    rec.refresh()
    app = create_app(pb)
    with TestClient(app, base_url="http://testserver") as site:
        # A search saved on the web for the segmentation profile (the search page offers the reader's profiles).
        login = {"email": READER, "password": PASSWORD, "csrf_token": csrf_of(site)}
        assert site.post("/login", data=login).status_code == 200
        assert f'<option value="{seg.id}">segmentation</option>' in site.get("/search?q=segmentation").text
        form = {"q": "segmentation", "profile": str(seg.id), "csrf_token": csrf_of(site, "/searches")}
        assert "in “segmentation”" in site.post("/searches", data=form).text
        assert site.post("/searches", data={**form, "profile": str(seg.id + 1000)}).status_code == 404
    assert [q for _i, q, _f in pb.profiles.searches(seg)] == ["segmentation"]
    digests.subscribe(READER, Options(send_hour=0, trending=False), user_id=reader.id, confirmed=True)
    assert run_digests(digests).sent == 1
    mail = sink.wait_for(READER)[0].message
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Recommended for you" in text and "For your segmentation profile" in text
    # Its matches lead that profile's section; the saved-searches section holds only the default profile's.
    assert "matches your search “segmentation”" in text and "New for your saved searches" not in text
    assert "in your segmentation profile" in text and "in your library" in text
    assert "[exploring] exploring beyond your profile" in text and "Exploring" in html
    links = FEEDBACK.findall(text)
    assert links and len(links) % 2 == 0 and "👍 More like this" in html

    up = next(path for kind, path in links if kind == "More")
    token = up.rsplit("/", 1)[1]
    fb = pb.profiles.read_feedback(token)
    prof = pb.profiles.get(reader.id, fb.profile_id)

    def rating() -> int | None:
        return pb.profiles.rating_map(prof, [fb.paper_id]).get(fb.paper_id)

    assert rating() is None
    with TestClient(app, base_url="http://testserver") as web:
        for _ in range(2):  # a link scanner and a mail preview fetch the link: nothing is recorded
            r = web.get(up)
            assert r.status_code == 200 and 'method="post"' in r.text and "More like this" in r.text
        assert rating() is None
        r = web.post(up)  # the reader's click on the confirmation button: no cookie, no CSRF token
        assert r.status_code == 200 and "Recorded 👍" in r.text and rating() == 1
        r = web.post(up)  # replayed: nothing changes
        assert r.status_code == 200 and "Already recorded" in r.text and rating() == 1
        down = next(
            path
            for kind, path in links
            if kind == "Less" and pb.profiles.read_feedback(path.rsplit("/", 1)[1]).paper_id == fb.paper_id
        )
        assert web.post(down).status_code == 200 and rating() == -1
        tampered = up[:-3] + ("AAA" if not up.endswith("AAA") else "BBB")
        for bad in (tampered, "/feedback/" + forge(fb)):
            r = web.post(bad)
            assert r.status_code == 400 and "not valid" in r.text
            assert web.get(bad).status_code == 400
        assert rating() == -1
    # Change a character of the signed payload (the last character of the signature may only carry
    # unused padding bits, so changing it can leave the link valid).
    with pytest.raises(InvalidFeedback):
        pb.profiles.read_feedback(token[:5] + ("x" if token[5] != "x" else "y") + token[6:])


def forge(fb) -> str:
    """The same feedback signed with another key (what an attacker without the secret can make)."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(b"not-" + SECRET.encode(), salt="paperboy.profile.feedback").dumps(
        [fb.user_id, fb.profile_id, fb.paper_id, 1]
    )


def test_rank_cli_scores_every_candidate_without_storing_file_papers(email_pb, email_home, sink, tmp_path):
    pb = email_pb
    lib = topic_papers(pb, "segmentation", 3)
    cands = [p for p in topic_papers(pb, "model", 60) if p.id not in {q.id for q in lib}][:40]
    assert len(cands) == 40
    # A file of candidates: one copy of a library paper (stored, so its stored vector is used) and one new paper.
    new = tmp_path / "accepted.bib"
    new.write_bytes(
        bib(
            [
                ("copy", lib[0].arxiv_id, lib[0].title),
                ("fresh", None, "Unseen Work on Semantic Segmentation of Street Scenes"),
            ]
        )
    )
    before = pb.store.count()
    args = [sys.executable, "-m", "paperboy.cli", "rank", "--json"]
    for p in lib:
        args += ["--library", p.id]
    args += [p.id for p in cands] + [str(new)]
    done = subprocess.run(args, env=email_env(email_home, sink.port), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    assert len(got) == len(cands) + 2 and set(got[0]) == {"id", "title", "score", "reason"}
    assert [g["score"] for g in got] == sorted((g["score"] for g in got), reverse=True)
    assert got[0]["id"] == lib[0].id  # the library's own paper fits it best
    assert all(g["reason"].startswith("like “") and g["reason"].endswith("in your library") for g in got)
    fresh = [g for g in got if g["title"].startswith("Unseen Work")]
    assert len(fresh) == 1 and pb.store.count() == before  # scored, not stored

    bad = subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "rank", "--library", "9999.99999", cands[0].id],
        env=email_env(email_home, sink.port),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert bad.returncode == 4 and "no stored paper '9999.99999'" in bad.stderr and "Traceback" not in bad.stderr


def test_rank_api(email_pb, reader):
    from fastapi.testclient import TestClient

    from paperboy.web import create_app

    pb = email_pb
    lib = topic_papers(pb, "language model", 2)
    cands = [p.id for p in topic_papers(pb, "learning", 30)]
    assert len(cands) == 30
    with TestClient(create_app(pb), base_url="http://testserver") as web:
        r = web.post("/api/v1/rank", json={"library": [p.id for p in lib], "candidates": cands})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(set(cands)) and {d["id"] for d in body["data"]} == set(cands)
        scores = [d["score"] for d in body["data"]]
        assert scores == sorted(scores, reverse=True)
        # A one-paper library, and candidates from a file's text (papers this instance stores, so no model
        # load here; test_rank_cli scores papers it does not store).
        filed = topic_papers(pb, "segmentation", 2)
        text = bib([(f"k{n}", p.arxiv_id, p.title) for n, p in enumerate(filed)]).decode()
        r = web.post("/api/v1/rank", json={"library": [lib[0].id], "candidates": cands, "candidates_file": text})
        assert r.status_code == 200 and r.json()["count"] == len(set(cands) | {p.id for p in filed})
        r = web.post("/api/v1/rank", json={"library": ["9999.99999"], "candidates": cands})
        assert r.status_code == 404 and "9999.99999" in r.json()["detail"]
        assert web.post("/api/v1/rank", json={"candidates": cands}).status_code == 401
        assert web.post("/api/v1/rank", json={"library": [lib[0].id], "candidates": ["x"] * 10_001}).status_code == 422
        assert web.post("/api/v1/rank", json={"library": [lib[0].id], "candidates_file": "garbage"}).status_code == 400
        spec = web.get("/openapi.json").json()["paths"]["/api/v1/rank"]["post"]["responses"]
        assert {"200", "400", "401", "404", "409", "422"} <= set(spec)
    # The limits hold for every surface (the API's schema refuses them earlier).
    with pytest.raises(RankInputError, match="at most 500"):
        pb.ranker.rank(lib[:1] * 501, lib)
    with pytest.raises(RankInputError, match="at most 10,000"):
        pb.ranker.rank(lib, lib[:1] * 10_001)
