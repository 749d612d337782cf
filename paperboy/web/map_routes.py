"""The map page (/map) and its data: binary points, titles, search hits and the reader's papers as map rows."""

from __future__ import annotations

import gzip
import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from paperboy.service.maps import TITLE_CHUNK, MapMissing
from paperboy.web import params, services
from paperboy.web.render import render
from paperboy.web.security import current_user

router = APIRouter(tags=["map"])

SEARCH_HITS = 200  # hits drawn on the map for one query (the search engine's page limit)
YOU_LIMIT = 1000  # papers per interest profile shown as "you are here"
CACHE = "public, max-age=0, must-revalidate"  # revalidated by ETag: a placement publishes a new generation
QueryText = Annotated[
    str,
    Query(min_length=1, max_length=params.MAX_QUERY_CHARS, pattern=params.QUERY_PATTERN, description="Search text."),
]


def map_csp() -> str:
    """The site's policy plus 'unsafe-eval' in script-src, for /map only: regl (under regl-scatterplot)
    compiles its WebGL draw calls with `new Function`, and nothing else on the page evaluates strings.

    It stays because regl has no build or setting without that code generation (it is regl's design:
    regl-project/regl#491); dropping it means another WebGL library that generates no code at run time
    re-doing the page's picking, screen positions, selection and filtering."""
    from paperboy.web.app import PAGE_CSP

    return PAGE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")


def _map(request: Request):
    return services.paperboy(request).map


def _data_or_404(request: Request):
    try:
        return _map(request).data()
    except MapMissing as exc:
        raise HTTPException(404, str(exc)) from None


def _etag(kind: str, generation: int) -> str:
    return f'"map-{kind}-{generation}"'


def _not_modified(request: Request, etag: str) -> bool:
    return etag in (request.headers.get("if-none-match") or "")


@router.get("/map", include_in_schema=False)
def map_page(request: Request):
    """The map of the field: WebGL with JavaScript; without it, the topic list and what is rising."""
    pm = _map(request)
    if not pm.exists():
        return render(request, "map.html", {"has_map": False, "broad": [], "rising": []})
    topics = pm.topics()
    broad = [
        {**b, "topics": sorted((t for t in topics if t.broad == b["id"]), key=lambda t: -t.size)}
        for b in pm.data().broad
    ]
    d = pm.data()
    config = {
        "points": "/map/points.bin",
        "titles": "/map/titles.tsv",
        "titles_chunk": TITLE_CHUNK,
        "generation": d.generation,
        "topics": [
            {
                "id": t.id,
                "label": t.label,
                "broad": t.broad,
                "size": t.size,
                "row": t.row,
                "momentum": round(t.momentum, 3),
            }
            for t in topics
        ],
        "broad": [{"id": b["id"], "label": b["label"], "size": b["size"], "row": b.get("row", -1)} for b in d.broad],
        "categories": d.categories,
        "count": len(d),
    }
    return render(
        request,
        "map.html",
        {
            "has_map": True,
            "broad": broad,
            "rising": pm.rising(),
            "count": len(d),
            "config_json": json.dumps(config, separators=(",", ":")).replace("</", "<\\/"),
        },
        headers={"Content-Security-Policy": map_csp()},
    )


@router.get(
    "/map/points.bin",
    summary="Map points (binary)",
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "Header b'PBM1', uint32 count, uint32 first month (months since 1970-01), uint32 topics; "
            "then float32 x[count], float32 y[count], uint16 topic[count], uint16 month[count] "
            "(months after the first, 65535 unknown), uint16 category[count]; little-endian. "
            "Sent gzip-encoded when the client accepts it. Row numbers index every other map route.",
        },
        304: {"description": "Not modified (ETag)"},
        404: {"description": "No map built yet"},
    },
)
def map_points(request: Request):
    """Every paper's position, topic, month and category as compact column arrays."""
    try:
        generation, raw, gz = _map(request).points()
    except MapMissing as exc:
        raise HTTPException(404, str(exc)) from None
    etag = _etag("points", generation)
    headers = {"ETag": etag, "Cache-Control": CACHE, "Vary": "Accept-Encoding"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if "gzip" in (request.headers.get("accept-encoding") or ""):
        return Response(gz, media_type="application/octet-stream", headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type="application/octet-stream", headers=headers)


@router.get(
    "/map/titles.tsv",
    summary="Map titles",
    responses={
        200: {
            "content": {"text/tab-separated-values": {}},
            "description": "One line per map row: paper id, a tab, its title (gzip-encoded when accepted); "
            f"an empty line for a paper hidden by a moderator. Every row, or with `chunk` the {TITLE_CHUNK} rows "
            f"from chunk × {TITLE_CHUNK} on.",
        },
        304: {"description": "Not modified (ETag)"},
        404: {"description": "No map built yet, or no such chunk"},
    },
)
def map_titles(request: Request, chunk: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None):
    """Ids and titles of the map rows, in row order (the page fetches the chunk of the point under the mouse)."""
    try:
        key, gz = _map(request).titles(chunk)
    except (MapMissing, IndexError) as exc:
        raise HTTPException(404, str(exc)) from None
    etag = f'"map-titles-{key}"'
    headers = {"ETag": etag, "Cache-Control": CACHE, "Vary": "Accept-Encoding"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    media = "text/tab-separated-values; charset=utf-8"
    if "gzip" in (request.headers.get("accept-encoding") or ""):
        return Response(gz, media_type=media, headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(gz), media_type=media, headers=headers)


@router.get(
    "/map/search",
    summary="Search hits as map rows",
    responses={
        200: {"description": '{"query": str, "rows": [int], "total": int}: rows of the top hits, best first'},
        400: {"description": "Missing, blank or over-long query"},
        404: {"description": "No map built yet"},
    },
)
def map_search(request: Request, q: QueryText):
    """The top hits of a search, as row numbers of the map points, best first."""
    query = params.query_text(q)
    if not query:
        raise HTTPException(400, "Enter something to search for (q).")
    _data_or_404(request)
    result = services.search(request, query, params.filters([], None, None), limit=SEARCH_HITS)
    rows = _map(request).rows_of(h.paper.id for h in result.page.hits)
    return JSONResponse({"query": query, "rows": rows, "total": result.page.total})


@router.get(
    "/map/you",
    summary="The reader's papers as map rows",
    responses={
        200: {
            "description": '{"rows": [int], "profiles": [{"id": int, "name": str, "rows": [int]}]}: map rows of the '
            "logged-in reader's papers (all of them, then per interest profile: its positively rated papers; the "
            "default profile also holds the upvoted and saved ones); empty when logged out"
        },
        404: {"description": "No map built yet"},
    },
)
def map_you(request: Request):
    """Where the logged-in reader is on the map: each interest profile's papers, the library in the default one."""
    _data_or_404(request)
    user = current_user(request)
    headers = {"Cache-Control": "private, no-store"}
    if user is None:
        return JSONResponse({"rows": [], "profiles": []}, headers=headers)
    pb, pm = services.paperboy(request), _map(request)
    profiles, every = [], set()
    for prof in pb.profiles.of(user.id):
        rows = sorted(set(pm.rows_of(pb.profiles.ratings(prof)[0][:YOU_LIMIT])))
        every.update(rows)
        profiles.append({"id": prof.id, "name": prof.name, "rows": rows})
    return JSONResponse({"rows": sorted(every), "profiles": profiles}, headers=headers)
