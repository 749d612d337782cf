"""Interest profiles on the web: manage profiles, import BibTeX, cold-start picking, thumbs up / down,
signed feedback links from digests (GET confirms, POST records), and "Rank a list".

Include with `app.include_router(profile_routes.router)`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from paperboy.service.profiles import InvalidFeedback, ProfileError, ProfileNotFound
from paperboy.service.ranklist import MAX_UPLOAD_BYTES, RankInputError
from paperboy.web import params
from paperboy.web.render import message_page, render
from paperboy.web.security import form_user, page_user, safe_next

# The app refuses files in forms (max_files 0); these routes take one (the import, "Rank a list").
router = APIRouter(include_in_schema=False, form_limits={"max_files": 1})

Token = Annotated[str, Path(min_length=10, max_length=4000, pattern=r"^[A-Za-z0-9_.\-]+$")]
OptField = Annotated[str | None, Form(max_length=2000)]
ProfileId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_PASTED_IDS = 10_000


def _pb(request: Request):
    return request.app.state.pb


async def _read_upload(upload: UploadFile | None) -> bytes:
    """An uploaded file's bytes (empty when none), refused above MAX_UPLOAD_BYTES."""
    if upload is None or not upload.filename:
        return b""
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    return data


# -- profiles -------------------------------------------------------------------------------------


def _profiles_page(
    request: Request,
    user,
    *,
    error: str | None = None,
    notice: str | None = None,
    picks=None,
    pick_profile=None,
    pick_next: str | None = None,
    status: int = 200,
):
    pb = _pb(request)
    profiles = pb.profiles.of(user.id)
    counts = {p.id: tuple(len(x) for x in pb.profiles.ratings(p)) for p in profiles}
    searches = {p.id: pb.profiles.searches(p) for p in profiles}
    return render(
        request,
        "profiles.html",
        {
            "profiles": profiles,
            "counts": counts,
            "searches": searches,
            "error": error,
            "notice": notice,
            "picks": picks,
            "pick_profile": pick_profile,
            "pick_next": pick_next,
        },
        status_code=status,
    )


@router.get("/profiles")
def profiles_page(request: Request):
    user = page_user(request, "/profiles")
    return _profiles_page(request, user)


@router.post("/profiles")
def create_profile(request: Request, name: Annotated[str, Form(max_length=200)], csrf_token: OptField = None):
    user = form_user(request, csrf_token, "/profiles")
    try:
        prof = _pb(request).profiles.create(user.id, name)
    except ProfileError as exc:
        return _profiles_page(request, user, error=str(exc), status=400)
    return _profiles_page(
        request,
        user,
        notice=f"Created the profile “{prof.name}”. Start it from a BibTeX export or by picking papers below.",
    )


@router.post("/profiles/{profile_id}/import")
async def import_bibtex(
    request: Request, profile_id: ProfileId, bibtex: Annotated[UploadFile, File()], csrf_token: OptField = None
):
    user = form_user(request, csrf_token, "/profiles")
    data = await _read_upload(bibtex)
    pb = _pb(request)
    try:
        prof = pb.profiles.get(user.id, profile_id)
        got = pb.profiles.import_bibtex(user.id, profile_id, data, bibtex.filename or "library.bib")
    except ProfileNotFound:
        raise  # the app's 404
    except ProfileError as exc:
        return _profiles_page(request, user, error=str(exc), status=400)
    note = f"Imported {len(got.rated)} paper{'s' if len(got.rated) != 1 else ''} into “{prof.name}”"
    note += f" ({got.added_to_store} new to this instance)." if got.added_to_store else "."
    if got.problems:
        note += f" Skipped {len(got.problems)}: " + "; ".join(got.problems[:5])
    return _profiles_page(request, user, notice=note)


@router.get("/profiles/{profile_id}/start")
def pick_list(
    request: Request,
    profile_id: ProfileId,
    category: Annotated[list[str] | None, Query(max_length=16)] = None,
    next: Annotated[str | None, Query(max_length=2000)] = None,
):
    """Cold start: a short list of diverse recent papers of the chosen categories to pick from (from the
    profiles page, or right after sign-up with `next`: where picking, or skipping it, leads)."""
    user = page_user(request, "/profiles")
    pb = _pb(request)
    try:
        prof = pb.profiles.get(user.id, profile_id)
        picks = pb.profiles.pick_list([c[:64] for c in category or []])
    except ProfileNotFound:
        raise  # the app's 404
    except ProfileError as exc:
        return _profiles_page(request, user, error=str(exc), status=400)
    return _profiles_page(
        request, user, picks=picks, pick_profile=prof, pick_next=safe_next(next, "/recommended") if next else None
    )


@router.post("/profiles/{profile_id}/pick")
def pick(
    request: Request,
    profile_id: ProfileId,
    paper: Annotated[list[str] | None, Form(max_length=100)] = None,
    csrf_token: OptField = None,
    next: OptField = None,
):
    user = form_user(request, csrf_token, "/profiles")
    pb = _pb(request)
    prof = pb.profiles.get(user.id, profile_id)
    n = pb.profiles.pick(user.id, profile_id, [params.paper_key(p) for p in paper or []])
    if next:  # the sign-up path: on to where the new reader was going
        return RedirectResponse(safe_next(next, "/recommended"), status_code=303)
    return _profiles_page(request, user, notice=f"Added {n} paper{'s' if n != 1 else ''} to “{prof.name}”.")


@router.post("/profiles/{profile_id}/settings")
def profile_settings(
    request: Request,
    profile_id: ProfileId,
    in_digest: OptField = None,
    delete: OptField = None,
    csrf_token: OptField = None,
):
    user = form_user(request, csrf_token, "/profiles")
    pb = _pb(request)
    try:
        if delete:
            pb.profiles.delete(user.id, profile_id)
            return _profiles_page(request, user, notice="Profile deleted.")
        pb.profiles.update(user.id, profile_id, in_digest=bool(in_digest))
    except ProfileNotFound:
        raise  # the app's 404
    except ProfileError as exc:
        return _profiles_page(request, user, error=str(exc), status=400)
    return RedirectResponse("/profiles", status_code=303)


@router.post("/profiles/searches/{search_id}")
def move_search(
    request: Request,
    search_id: ProfileId,
    profile: Annotated[int, Form(ge=1, le=2**31 - 1)],
    csrf_token: OptField = None,
):
    """Give a saved search to another profile (its digest section and recommendations)."""
    user = form_user(request, csrf_token, "/profiles")
    _pb(request).profiles.move_search(user.id, search_id, profile)
    return RedirectResponse("/profiles", status_code=303)


# -- thumbs up / down on the web ----------------------------------------------------------------------


@router.post("/recommended/rate")
def rate(
    request: Request,
    paper: Annotated[str, Form(max_length=100)],
    rating: Annotated[int, Form(ge=-1, le=1)],
    profile: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    csrf_token: OptField = None,
    next: OptField = None,
):
    user = form_user(request, csrf_token, "/recommended")
    pb = _pb(request)
    if rating == 0:
        pb.profiles.unrate(user.id, profile, params.paper_key(paper))
    else:
        pb.profiles.rate(user.id, profile, params.paper_key(paper), rating, origin="web")
    return RedirectResponse(safe_next(next, "/recommended"), status_code=303)


# -- feedback links from digests ------------------------------------------------------------------------


def _describe(request: Request, fb) -> str:
    pb = _pb(request)
    paper = pb.paper(fb.paper_id)
    prof = pb.profiles.get(fb.user_id, fb.profile_id)
    title = " ".join(paper.title.split()) if paper else fb.paper_id
    return f"“{title}” in {prof.where}"


@router.get("/feedback/{token}")
def feedback_page(request: Request, token: Token):
    """A button, not an action: link scanners and mail previews fetch GET links and must record nothing."""
    try:
        fb = _pb(request).profiles.read_feedback(token)
    except InvalidFeedback as exc:
        return message_page(request, "Link not valid", str(exc), status=400)
    what = "More like this" if fb.rating > 0 else "Less like this"
    return message_page(
        request,
        what,
        f"Record 👍 for {_describe(request, fb)}?" if fb.rating > 0 else f"Record 👎 for {_describe(request, fb)}?",
        form_action=f"/feedback/{token}",
        button=f"{'👍' if fb.rating > 0 else '👎'} {what}",
    )


@router.post("/feedback/{token}")
def feedback(request: Request, token: Token):
    """Records the link's rating; the signed token is the authorization (no cookie), a replay changes nothing."""
    try:
        fb, changed = _pb(request).profiles.apply_feedback(token)
    except InvalidFeedback as exc:
        return message_page(request, "Link not valid", str(exc), status=400)
    thumb = "👍" if fb.rating > 0 else "👎"
    if not changed:
        return message_page(request, "Already recorded", f"{thumb} for {_describe(request, fb)} was already recorded.")
    return message_page(request, "Thanks", f"Recorded {thumb} for {_describe(request, fb)}.")


# -- rank a list ----------------------------------------------------------------------------------------


@router.get("/rank")
def rank_form(request: Request):
    user = page_user(request, "/rank")
    return render(
        request,
        "rank.html",
        {
            "profiles": _pb(request).profiles.of(user.id),
            "ranked": None,
            "error": None,
            "ids": "",
            "profile_id": None,
            "skipped": [],
        },
    )


@router.post("/rank")
async def rank(
    request: Request,
    ids: Annotated[str, Form(max_length=200_000)] = "",
    bibtex: Annotated[UploadFile | None, File()] = None,
    profile: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    csrf_token: OptField = None,
):
    """Pasted ids and/or an uploaded file (a .bib, or any ingest format) ranked for one of your profiles."""
    user = form_user(request, csrf_token, "/rank")
    pb = _pb(request)
    data = await _read_upload(bibtex)
    ctx = {
        "profiles": pb.profiles.of(user.id),
        "ranked": None,
        "error": None,
        "ids": ids[:20_000],
        "profile_id": profile,
        "skipped": [],
    }
    try:
        keys = pb.ranker.ids(ids)[: MAX_PASTED_IDS + 1]
        if len(keys) > MAX_PASTED_IDS:
            raise RankInputError(f"at most {MAX_PASTED_IDS:,} ids")
        papers = pb.ranker.read(keys, files=False)  # pasted text names ids, never server files
        if data:
            from paperboy.service.ranklist import dedupe, parse_bytes

            papers.papers = dedupe(papers.papers + parse_bytes(data, bibtex.filename or "upload.bib", papers.problems))
        if not papers.papers:
            raise RankInputError("paste some paper ids or upload a .bib file")
        ctx["ranked"] = pb.ranker.for_profile(user.id, profile, papers.papers)
        ctx["skipped"] = papers.problems[:20]
    except ProfileNotFound:
        raise  # the app's 404
    except RankInputError as exc:
        ctx["error"] = str(exc)
        return render(request, "rank.html", ctx, status_code=400)
    return render(request, "rank.html", ctx)
