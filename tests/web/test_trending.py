"""The trending formula (pure) and the community rules behind it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from paperboy.ranking.trending import age_in_hours, hn_gravity_score, rank_trending, window_start
from tests.web.conftest import verified_user


def test_gravity_score_is_the_documented_formula():
    s = hn_gravity_score(np.array([10, 10, 0]), np.array([0, 22, 5]), gravity=1.8)
    assert s[0] == pytest.approx(10 / 2**1.8)
    assert s[1] == pytest.approx(10 / 24**1.8)
    assert s[2] == 0
    assert hn_gravity_score(np.array([4]), np.array([-30]), 2.0)[0] == pytest.approx(1.0)  # future dates clamp


def test_newer_paper_with_fewer_votes_can_beat_an_older_one():
    ranked = rank_trending(["old", "new"], np.array([50, 10]), np.array([168, 0]), gravity=1.8)
    assert ranked.ids == ["new", "old"]
    flat = rank_trending(["old", "new"], np.array([50, 10]), np.array([168, 0]), gravity=0.0)
    assert flat.ids == ["old", "new"]  # no gravity: plain vote count


def test_ties_are_deterministic():
    ranked = rank_trending(["b", "a", "c", "d"], np.zeros(4), np.array([24, 24, 0, 24]))
    assert ranked.ids == ["c", "a", "b", "d"]  # newest first, then by id
    assert len(rank_trending([], np.zeros(0), np.zeros(0))) == 0
    with pytest.raises(ValueError):
        rank_trending(["a"], np.zeros(2), np.zeros(1))


def test_windows_and_ages():
    d = date(2026, 7, 1)
    assert window_start("today", d) == d
    assert window_start("week", d) == date(2026, 6, 25)
    assert window_start("month", d) == date(2026, 6, 2)
    assert window_start("all", d) is None
    with pytest.raises(ValueError):
        window_start("year", d)
    assert list(age_in_hours([d, date(2026, 6, 30)], d)) == [0.0, 24.0]


def test_community_trending_uses_the_setting_and_cache_invalidation(web_pb):
    from paperboy.service.community import Community

    web_pb.settings.trending_gravity = 0.0  # no decay: most votes first, whatever the age
    com = Community(web_pb.store, web_pb.settings)
    top = com.trending("all", 3)
    assert top.items[0].paper.id == "2606.99002" and top.as_of == date(2026, 7, 1)
    ids = [v.paper.id for v in top.items]
    assert ids[1] == "2605.99003"  # 3 imported votes, a month old
    u = verified_user(com, "t@example.org")
    for i in range(5):
        com.upvote(verified_user(com, f"t{i}@example.org"), "2606.30673")
    com.upvote(u, "2606.30673")
    assert com.trending("all", 3).items[1].paper.id == "2606.30673"  # 6 votes > 3, cache was cleared


def test_reference_day_never_passes_today(web_pb):
    from paperboy.service.community import Community

    early = Community(web_pb.store, web_pb.settings, clock=lambda: datetime(2026, 6, 29, tzinfo=timezone.utc))
    assert early.reference_day() == date(2026, 6, 28)
    assert [v.paper.id for v in early.trending("today").items] == ["2606.99002"]


def test_sessions_expire(web_pb):
    from paperboy.service.community import Community

    now = [datetime(2026, 7, 1, tzinfo=timezone.utc)]
    com = Community(web_pb.store, web_pb.settings, clock=lambda: now[0])
    token = com.start_session(com.sign_up("s@example.org", "password123"))
    assert com.session_user(token).email == "s@example.org"
    now[0] += timedelta(days=web_pb.settings.session_days + 1)
    assert com.session_user(token) is None
    assert com.session_user("x" * 500) is None and com.session_user("") is None


def test_week_month_and_all_time_rank_by_votes_in_the_window():
    # Issue 11 point 2: 5 upvotes on yesterday's paper must beat 1 upvote on three of today's papers
    # in week / month / all time (most upvoted in the window, ties by recency); today keeps gravity.
    from paperboy.ranking.trending import rank_window

    d = date(2026, 7, 1)
    ids = ["t1", "t2", "t3", "y"]
    votes = np.array([1, 1, 1, 5])
    days = [d, d, d, date(2026, 6, 30)]
    for window in ("week", "month", "all"):
        assert rank_window(window, ids, votes, days, d).ids[0] == "y", window
    assert rank_window("today", ids, votes, days, d, gravity=1.8).ids[-1] == "y"
    tie = rank_window("week", ["old", "new"], np.array([2, 2]), [date(2026, 6, 29), d], d)
    assert tie.ids == ["new", "old"]  # equal votes: the newer paper first


def test_undated_papers_never_outrank_dated_ones():
    # Issue 11 point 3: the HF page dump's undated records topped "all time".
    from paperboy.ranking.trending import rank_window

    d = date(2026, 7, 1)
    ranked = rank_window("all", ["undated", "dated0", "dated1"], np.array([500, 0, 1]), [None, date(2026, 5, 1), d], d)
    assert ranked.ids == ["dated1", "dated0", "undated"]
    ranked = rank_window("today", ["undated", "dated"], np.array([500, 0]), [None, d], d)
    assert ranked.ids == ["dated", "undated"]


def test_community_week_tab_is_most_upvoted_of_the_week(web_pb):
    from paperboy.service.community import Community

    com = Community(web_pb.store, web_pb.settings)
    week = [v.paper for v in com.trending("week", 50).items]
    assert week[0].id == "2606.99002"  # 42 imported upvotes on 2026-06-28, older than the 2026-07-01 papers
    votes = [v.upvotes for v in com.trending("week", 50).items]
    assert votes == sorted(votes, reverse=True)
    top_all = com.trending("all", 200).items
    dated = [bool(v.paper.listed or v.paper.published) for v in top_all]
    assert dated == sorted(dated, reverse=True)  # every undated paper after every dated one
