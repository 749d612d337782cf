"""The map on 408 real sample papers with real embeddings: layout, topics, labels, placement, momentum, files, CLI, routes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from paperboy.ranking.layout import nearest, unit_rows
from tests.map.conftest import map_rows, map_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pb(map_home):
    from paperboy.service import Paperboy

    p = Paperboy(map_settings(map_home))
    yield p
    p.close()


def test_every_paper_is_placed_in_two_levels_of_labelled_topics(pb):
    d = pb.map.data()
    vec = pb.indexes.vectors
    assert sorted(d.ids) == sorted(vec.ids) and len(d) >= 400
    assert d.xy.dtype == np.float32 and np.abs(d.xy).max() <= 1.0 + 1e-6 and np.isfinite(d.xy).all()
    assert len(np.unique(d.xy, axis=0)) > 0.9 * len(d)  # spread out, not collapsed
    n_fine, n_broad = len(d.topics), len(d.broad)
    assert 3 <= n_fine <= 60 and 2 <= n_broad < n_fine
    assert set(np.unique(d.fine)) == set(range(n_fine))
    assert {t["parent"] for t in d.topics} == set(range(n_broad))
    assert sum(t["size"] for t in d.topics) == len(d) == sum(b["size"] for b in d.broad)
    # Labels are words of their own papers, and (nearly all) differ from each other.
    labels = [t["label"] for t in d.topics]
    assert len(set(labels)) >= n_fine - 1 and all(labels)
    for t in d.topics[:5]:
        member_text = " ".join(d.titles[i].lower() for i in np.flatnonzero(d.fine == t["id"]))
        abstracts = " ".join(
            p.abstract.lower()
            for p in pb.store.get_many([d.ids[i] for i in np.flatnonzero(d.fine == t["id"])]).values()
        )
        first = t["label"].split(", ")[0]
        assert all(w in member_text + " " + abstracts for w in first.split()), (first, t)
        assert d.fine[t["row"]] == t["id"]  # the label sits on one of its papers


def test_neighbours_in_the_embedding_stay_neighbours_on_the_map(pb):
    d = pb.map.data()
    v = unit_rows(pb.indexes.vectors.matrix())
    pos = {i: r for r, i in enumerate(pb.indexes.vectors.ids)}
    rows = np.asarray([pos[i] for i in d.ids])
    idx, _sim = nearest(v[rows], v[rows], 5, skip_self=True)
    near = np.linalg.norm(d.xy[:, None, :] - d.xy[idx], axis=2).mean()
    rng = np.random.default_rng(0)
    rand = np.linalg.norm(d.xy - d.xy[rng.permutation(len(d))], axis=1).mean()
    assert near < rand / 3, (near, rand)


def test_new_papers_are_placed_beside_their_neighbours_and_old_ones_do_not_move(pb):
    full = pb.map.data()
    new = np.arange(len(full))[-40:]
    old = np.arange(len(full))[:-40]
    pb.map.files.save(map_rows(full, old))
    assert pb.map.update() == 40
    d = pb.map.data()
    assert d.ids[: len(old)] == [full.ids[i] for i in old] and d.ids[len(old) :] == [full.ids[i] for i in new]
    assert np.array_equal(d.xy[: len(old)], full.xy[old]) and np.array_equal(d.fine[: len(old)], full.fine[old])
    assert d.meta["placed"] == 40 and d.titles[-1] == full.titles[-1] and d.day[-1] == full.day[-1]
    same_topic = (d.fine[len(old) :] == full.fine[new]).mean()
    moved = np.linalg.norm(d.xy[len(old) :] - full.xy[new], axis=1)
    spread = np.linalg.norm(full.xy - full.xy.mean(axis=0), axis=1).mean()
    assert same_topic >= 0.6 and np.median(moved) < spread / 2, (same_topic, np.median(moved), spread)
    assert pb.map.update() == 0  # nothing new: nothing written
    assert pb.map.data().generation == d.generation


def test_topics_rising_and_reader_topics(pb):
    d = pb.map.data()
    stats = pb.map.topics()
    assert [s.id for s in stats] == list(range(len(d.topics)))
    known = d.day[d.day >= 0]
    as_of = int(known.max())
    expect = ((d.day > as_of - 30) & (d.day <= as_of)).sum()
    assert sum(s.recent for s in stats) == expect
    for s in pb.map.rising():
        assert s.momentum > 1 and s.recent >= 5
    mine = [d.ids[i] for i in np.flatnonzero(d.fine == 0)[:3]] + ["no-such-paper"]
    counts = pb.map.topic_counts(mine)
    assert counts[0][0].id == 0 and counts[0][1] == 3
    months, per = pb.map.monthly()
    assert per.sum() == len(known) and len(months) == per.shape[1] and months[0] < months[-1]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "--home", str(home), "map", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_cli_json_and_picture(map_home, tmp_path):
    from paperboy.service import Paperboy

    out = tmp_path / "map.png"
    r = _cli(map_home, "--json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    topics = json.loads(r.stdout)
    assert topics and all(set(t) == {"id", "label", "size", "momentum"} for t in topics)
    pb = Paperboy(map_settings(map_home))
    try:
        assert sum(t["size"] for t in topics) == len(pb.map.data())
    finally:
        pb.close()
    import matplotlib.image

    img = matplotlib.image.imread(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and img.shape[0] > 1000
    ink = (img[:, :, :3] < 0.9).any(axis=2).mean()
    assert 0.01 < ink < 0.6, ink  # points and labels drawn, not blank, not a solid block

    nowhere = _cli(map_home, "--out", str(tmp_path / "no-such-folder" / "map.png"))
    assert nowhere.returncode == 4 and "cannot write" in nowhere.stderr and "Traceback" not in nowhere.stderr

    empty = _cli(tmp_path / "empty-home")
    assert empty.returncode == 4 and "paperboy index" in empty.stderr and "Traceback" not in empty.stderr


def test_routes_send_compact_points_and_the_topic_list(map_home):
    from fastapi.testclient import TestClient

    from paperboy.service import Paperboy
    from paperboy.service.maps import TITLE_CHUNK
    from paperboy.web import create_app
    from tests.web.conftest import csrf_of, sign_up

    pb = Paperboy(map_settings(map_home))
    try:
        d = pb.map.data()
        with TestClient(create_app(pb), base_url="http://testserver") as c:
            page = c.get("/map")
            assert page.status_code == 200 and "'unsafe-eval'" in page.headers["content-security-policy"]
            assert "'unsafe-eval'" not in c.get("/").headers["content-security-policy"]
            assert 'id="topic-list"' in page.text and d.broad[0]["label"] in page.text  # works without JS
            pts = c.get("/map/points.bin")
            assert (
                pts.headers["content-encoding"] == "gzip" and pts.headers["content-type"] == "application/octet-stream"
            )
            body = pts.content  # decoded by the client
            magic, n, _first, n_topics = body[:4], *struct.unpack("<III", body[4:16])
            assert magic == b"PBM1" and n == len(d) and n_topics == len(d.topics) and len(body) == 16 + n * 14
            x = np.frombuffer(body, "<f4", n, 16)
            assert np.array_equal(x, d.xy[:, 0])
            assert c.get("/map/points.bin", headers={"If-None-Match": pts.headers["etag"]}).status_code == 304
            titles = c.get("/map/titles.tsv").text.splitlines()
            assert len(titles) == n and titles[0].split("\t")[0] == d.ids[0]
            assert c.get("/map/titles.tsv", params={"chunk": 0}).text.splitlines() == titles[:TITLE_CHUNK]
            assert c.get("/map/titles.tsv", params={"chunk": n // TITLE_CHUNK + 1}).status_code == 404
            hits = c.get("/map/search", params={"q": d.titles[5]}).json()
            assert hits["rows"][0] == 5
            assert c.get("/map/search", params={"q": " "}).status_code == 400
            assert c.get("/map/you").json() == {"rows": [], "profiles": []}
            sign_up(c)
            token = csrf_of(c, "/")
            r = c.post(f"/api/v1/papers/{d.ids[7]}/vote", headers={"X-CSRF-Token": token})
            assert r.status_code == 200, r.text
            you = c.get("/map/you").json()
            assert you["rows"] == [7] and [(p["name"], p["rows"]) for p in you["profiles"]] == [("My interests", [7])]
    finally:
        pb.close()
    # A paper a moderator hides after the map was written: its row stays, its id and title go.
    pb = Paperboy(map_settings(map_home, admin_emails=["mod@example.org"]))
    try:
        admin = pb.community.sign_up("mod@example.org", "a long enough password")
        assert pb.moderation.hide(admin, d.ids[9], "spam")
        with TestClient(create_app(pb), base_url="http://testserver") as c:
            lines = c.get("/map/titles.tsv").text.split("\n")
            assert lines[9] == "" and lines[10].startswith(d.ids[10] + "\t") and len(lines) == n + 1
            assert d.titles[9] not in c.get("/map/titles.tsv").text
    finally:
        pb.close()


def test_routes_without_a_map(tmp_path):
    from fastapi.testclient import TestClient

    from paperboy.config import Settings
    from paperboy.service import Paperboy
    from paperboy.web import create_app

    pb = Paperboy(Settings(home=tmp_path / "home", secret_key="test-secret"))
    try:
        with TestClient(create_app(pb)) as c:
            page = c.get("/map")
            assert page.status_code == 200 and "paperboy map" in page.text
            r = c.get("/map/points.bin")
            assert r.status_code == 404 and "paperboy map" in r.json()["detail"]
    finally:
        pb.close()


def test_worker_places_papers_embedded_since_the_map_was_built(pb):
    from paperboy.service.worker import Worker

    full = pb.map.data()
    old = np.arange(len(full) - 25)
    # As if the last 25 papers were embedded after the map was built: dense_seq -1 is "older than the index".
    pb.map.files.save(map_rows(full, old, dense_seq=-1))
    assert pb.map.stale()
    worker = Worker(pb, embed=False)
    rep = worker.run_pass()
    assert rep.ok and rep.mapped == 25 and len(pb.map.data()) == len(full)
    assert not pb.map.stale() and worker.run_pass().mapped == 0


def test_digest_shows_the_readers_topics_as_an_inline_chart(pb):
    from email import message_from_bytes, policy

    from paperboy.email.compose import compose_digest, message_bytes

    d = pb.map.data()
    reader = pb.community.sign_up("topics@example.org", "a long enough password")
    for row in np.flatnonzero(d.fine == 0)[:3]:
        pb.community.upvote(reader, d.ids[row])
    digest = pb.digests.preview("topics@example.org")
    assert digest.topics[0] == (d.topics[0]["label"], 3)
    assert digest.topics_chart[:8] == b"\x89PNG\r\n\x1a\n"
    from datetime import datetime, timezone

    msg = compose_digest(
        digest,
        mail_from="paperboy <digest@paperboy.test>",
        base_url="http://testserver",
        unsubscribe_url="http://testserver/u",
        message_id="<m@paperboy.test>",
        date=datetime(2026, 7, 1, tzinfo=timezone.utc),
    )
    sent = message_from_bytes(message_bytes(msg), policy=policy.SMTP)
    related = next(p for p in sent.walk() if p.get_content_type() == "multipart/related")
    html = related.get_body(preferencelist=("html",)).get_content()
    png = next(p for p in related.iter_parts() if p.get_content_type() == "image/png")
    assert png.get_content() == digest.topics_chart
    assert f'src="cid:{png["Content-ID"][1:-1]}"' in html and "Your topics on the map" in html
    assert d.topics[0]["label"] in sent.get_body(preferencelist=("plain",)).get_content()
