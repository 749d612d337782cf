"""Submitting papers by arXiv id or URL: queued, fetched from a local stand-in arXiv API, duplicates."""

from __future__ import annotations

import pytest

from tests.web.conftest import AtomServer, arxiv_atom, csrf_of, sign_up

NEW_ID = "2607.01234"


@pytest.fixture
def arxiv(web_pb):
    with AtomServer(arxiv_atom([(NEW_ID, "A Freshly Submitted Paper on Retrieval", "We submit things.")])) as srv:
        web_pb.settings.arxiv_api_url = srv.url
        yield srv


def _submit(client, text: str):
    token = csrf_of(client, "/submit")
    return client.post("/submit", data={"paper": text, "csrf_token": token}, follow_redirects=False)


def test_submitted_id_is_fetched_ingested_and_searchable(client, arxiv, web_pb):
    sign_up(client)
    r = _submit(client, f"https://arxiv.org/abs/{NEW_ID}v1")
    assert r.status_code == 303
    # TestClient runs background tasks before returning, so the queue has been processed.
    page = client.get("/submit").text
    assert "state-done" in page and f'href="/papers/{NEW_ID}"' in page
    assert arxiv.requests and NEW_ID in arxiv.requests[0]
    p = client.get(f"/papers/{NEW_ID}")
    assert p.status_code == 200 and "A Freshly Submitted Paper on Retrieval" in p.text
    hits = web_pb.search("freshly submitted retrieval", mode="lexical").hits
    assert hits and hits[0].paper.id == NEW_ID


def test_already_stored_paper_is_a_duplicate_with_a_link(client, arxiv):
    sign_up(client)
    _submit(client, "arXiv:2606.30647")
    page = client.get("/submit").text
    assert "state-duplicate" in page and 'href="/papers/2606.30647"' in page and "Already in paperboy." in page
    assert arxiv.requests == []  # nothing fetched


def test_unknown_id_fails_with_a_message(client, web_pb):
    with AtomServer(arxiv_atom([])) as srv:
        web_pb.settings.arxiv_api_url = srv.url
        sign_up(client)
        _submit(client, "2607.99999")
    page = client.get("/submit").text
    assert "state-failed" in page and "arXiv has no paper 2607.99999." in page


def test_arxiv_error_fails_cleanly(client, web_pb):
    with AtomServer(b"bad request", status=400) as srv:  # 4xx is not retried, so this stays fast
        web_pb.settings.arxiv_api_url = srv.url
        sign_up(client)
        _submit(client, "2607.88888")
    page = client.get("/submit").text
    assert "state-failed" in page and "Fetching failed" in page and "HTTP 400" in page


def test_offline_submission_stays_queued_with_a_plain_message_and_is_retried(client, app, web_pb):
    from paperboy.web import services
    from tests.live import free_port

    web_pb.settings.arxiv_api_url = f"http://127.0.0.1:{free_port()}/api/query"  # nothing listens: offline
    sign_up(client)
    assert _submit(client, NEW_ID).status_code == 303
    page = client.get("/submit").text
    assert "state-queued" in page and "arXiv cannot be reached right now" in page
    assert "Errno" not in page and "ConnectError" not in page and "few seconds" not in page
    assert "keeps trying for up to a day" in page
    with AtomServer(arxiv_atom([(NEW_ID, "A Freshly Submitted Paper on Retrieval", "We submit things.")])) as srv:
        web_pb.settings.arxiv_api_url = srv.url
        services.fetch_submitted(app)  # the next scheduled run, once the network is back
    page = client.get("/submit").text
    assert "state-done" in page and f'href="/papers/{NEW_ID}"' in page


def test_not_an_arxiv_id_is_refused(client):
    sign_up(client)
    for text in ("hello", "https://example.com/abs/2401.01234", "<script>alert(1)</script>", "9" * 300):
        r = _submit(client, text)
        assert r.status_code == 400 and "not an arXiv id or URL" in r.text, text
        assert "<script>alert(1)</script>" not in r.text


def test_submission_quota(client, app, web_pb):
    web_pb.settings.max_submissions_per_day = 1
    sign_up(client)
    assert _submit(client, "2606.30647").status_code == 303
    r = _submit(client, "2606.30673")
    assert r.status_code == 429 and "submission limit" in r.text
