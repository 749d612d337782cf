"""Interest profiles: several named interests per reader, each with its own thumbs up / down and saved searches.

A reader's first profile is their default one, which also learns from their upvotes, saved papers and
"not interested" marks (migration 0009 copied those into it). A profile starts empty, from an imported
BibTeX export (Zotero, Mendeley, Google Scholar) or from papers picked out of a short, diverse list
of recent papers in chosen categories (cold start). Feedback links in digests carry a signed token
(itsdangerous, the instance's secret key) naming reader, profile, paper and rating.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from paperboy.models import Paper
from paperboy.store import Conflict
from paperboy.store import profiles as _sql

DEFAULT_NAME = "My interests"
MAX_PROFILES = 10
MAX_NAME = 80
MAX_RATINGS = 500  # newest ratings a profile learns from (the `rank` library limit)
MAX_IMPORT_BYTES = 5 * 1024 * 1024
PICK_LIST = 12  # papers offered for cold-start picking
PICK_POOL = 60  # recent papers per category the pick list is chosen from
FEEDBACK_DAYS = 180  # how long a digest's feedback links work
ORIGINS = ("library", "import", "pick", "web", "email", "api")


class ProfileError(ValueError):
    """A request that breaks a rule (duplicate name, too many profiles, bad import); safe to show."""


class ProfileNotFound(ProfileError):
    """No such profile for this reader."""


class InvalidFeedback(ProfileError):
    """A feedback link that was tampered with, expired or names something that no longer exists."""


@dataclass(slots=True, frozen=True)
class Profile:
    id: int
    user_id: int
    name: str
    is_default: bool
    in_digest: bool

    @property
    def where(self) -> str:
        """How reasons name the profile: 'your retrieval profile'."""
        return "your library" if self.is_default and self.name == DEFAULT_NAME else f"your {self.name} profile"


@dataclass(slots=True, frozen=True)
class Feedback:
    """What one feedback link says: this reader rates this paper in this profile."""

    user_id: int
    profile_id: int
    paper_id: str
    rating: int


@dataclass(slots=True)
class ImportResult:
    rated: list[str]
    added_to_store: int
    problems: list[str]


def _profile(row) -> Profile:
    return Profile(int(row.id), int(row.user_id), row.name, bool(row.is_default), bool(row.in_digest))


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Profiles:
    """Profiles of the readers of one Paperboy service."""

    def __init__(self, pb, secret: bytes | str):
        from itsdangerous import URLSafeTimedSerializer

        self.pb = pb
        self._signer = URLSafeTimedSerializer(secret, salt="paperboy.profile.feedback")

    @property
    def store(self):
        return self.pb.store

    # -- profiles ----------------------------------------------------------------------------------
    def of(self, user_id: int) -> list[Profile]:
        """A reader's profiles, default first; the default profile is created on first use."""
        with self.store.reading() as conn:
            rows = _sql.profiles_of(conn, user_id)
        if not rows:
            try:
                with self.store.writing() as conn:
                    _sql.insert_profile(conn, user_id, DEFAULT_NAME, True, _now())
            except Conflict:
                pass  # created meanwhile by a concurrent request
            with self.store.reading() as conn:
                rows = _sql.profiles_of(conn, user_id)
        return [_profile(r) for r in rows]

    def default(self, user_id: int) -> Profile:
        return self.of(user_id)[0]

    def get(self, user_id: int, profile_id: int | None) -> Profile:
        """One of the reader's profiles (the default one for None)."""
        if profile_id is None:
            return self.default(user_id)
        with self.store.reading() as conn:
            row = _sql.profile(conn, int(profile_id))
        if row is None or int(row.user_id) != user_id:
            raise ProfileNotFound("No such profile.")
        return _profile(row)

    def create(self, user_id: int, name: str) -> Profile:
        name = " ".join((name or "").split())
        if not name:
            raise ProfileError("Give the profile a name.")
        if len(name) > MAX_NAME:
            raise ProfileError(f"A profile name has at most {MAX_NAME} characters.")
        existing = self.of(user_id)
        if len(existing) >= MAX_PROFILES:
            raise ProfileError(f"You can have at most {MAX_PROFILES} profiles.")
        if any(p.name.lower() == name.lower() for p in existing):
            raise ProfileError(f"You already have a profile named “{name}”.")
        try:
            with self.store.writing() as conn:
                pid = _sql.insert_profile(conn, user_id, name, False, _now())
        except Conflict as e:
            raise ProfileError(f"You already have a profile named “{name}”.") from e
        return self.get(user_id, pid)

    def update(
        self, user_id: int, profile_id: int, *, name: str | None = None, in_digest: bool | None = None
    ) -> Profile:
        prof = self.get(user_id, profile_id)
        values: dict = {}
        if name is not None:
            name = " ".join(name.split())
            if not name or len(name) > MAX_NAME:
                raise ProfileError(f"A profile name has 1 to {MAX_NAME} characters.")
            values["name"] = name
        if in_digest is not None:
            values["in_digest"] = bool(in_digest)
        if values:
            try:
                with self.store.writing() as conn:
                    _sql.update_profile(conn, prof.id, values)
            except Conflict as e:
                raise ProfileError(f"You already have a profile named “{name}”.") from e
        return self.get(user_id, profile_id)

    def delete(self, user_id: int, profile_id: int) -> None:
        prof = self.get(user_id, profile_id)
        if prof.is_default:
            raise ProfileError("The default profile cannot be deleted.")
        with self.store.writing() as conn:
            _sql.delete_profile(conn, prof.id)

    # -- ratings -------------------------------------------------------------------------------------
    def rate(self, user_id: int, profile_id: int | None, paper_id: str, rating: int, origin: str = "web") -> bool:
        """Thumbs up (+1) or down (-1) for a paper in a profile; False when it already had that rating."""
        if rating not in (1, -1):
            raise ProfileError("A rating is +1 or -1.")
        prof = self.get(user_id, profile_id)
        paper = self.pb.paper(paper_id)
        if paper is None:
            raise ProfileError(f"No paper {paper_id!r}.")
        with self.store.writing() as conn:
            changed = _sql.set_ratings(conn, prof.id, [(paper.id, rating)], origin, _now())
        return bool(changed)

    def unrate(self, user_id: int, profile_id: int | None, paper_id: str) -> bool:
        prof = self.get(user_id, profile_id)
        with self.store.writing() as conn:
            return bool(_sql.clear_rating(conn, prof.id, paper_id))

    def ratings(self, prof: Profile) -> tuple[list[str], list[str]]:
        """(positive ids, negative ids) of a profile, newest first; the default one includes the library."""
        with self.store.reading() as conn:
            rows = _sql.ratings(conn, prof.id, MAX_RATINGS)
            if prof.is_default:
                rated = {pid for pid, _ in rows}
                rows += [(pid, r) for pid, r in _sql.library_rows(conn, prof.user_id, MAX_RATINGS) if pid not in rated]
        final: dict[str, int] = {}
        for pid, r in rows:
            final.setdefault(pid, r)  # the profile's own rating wins over the library row
        pos = [pid for pid, r in final.items() if r > 0][:MAX_RATINGS]
        neg = [pid for pid, r in final.items() if r < 0][:MAX_RATINGS]
        return pos, neg

    def rating_map(self, prof: Profile, ids: Sequence[str]) -> dict[str, int]:
        pos, neg = self.ratings(prof)
        want = set(ids)
        return {**{i: 1 for i in pos if i in want}, **{i: -1 for i in neg if i in want}}

    def searches(self, prof: Profile) -> list[tuple[int, str, dict]]:
        with self.store.reading() as conn:
            rows = _sql.searches_of_profile(conn, prof.user_id, prof.id, prof.is_default)
        return [(int(r.id), r.query, dict(r.filters or {})) for r in rows]

    def save_search(self, user, query: str, filters: dict, profile_id: int | None = None):
        """Keep a search for one of the reader's profiles (None: the default one); the same search saved
        again for another profile moves there. Its matches go to that profile's recommendations and digest
        section."""
        prof = self.get(user.id, profile_id)
        owner = None if prof.is_default else prof.id
        saved = self.pb.community.save_search(user, query, filters, profile_id=owner)
        if saved.profile_id != owner:
            self.move_search(user.id, saved.id, prof.id)
            saved = replace(saved, profile_id=owner)
        return saved

    def move_search(self, user_id: int, search_id: int, profile_id: int) -> None:
        prof = self.get(user_id, profile_id)
        with self.store.writing() as conn:
            if not _sql.set_search_profile(conn, user_id, search_id, None if prof.is_default else prof.id):
                raise ProfileNotFound("No such saved search.")

    # -- starting a profile --------------------------------------------------------------------------
    def import_bibtex(self, user_id: int, profile_id: int, data: bytes, name: str = "library.bib") -> ImportResult:
        """Thumbs up for every paper of a BibTeX export; papers the store lacks are ingested first."""
        from paperboy.service.ranklist import RankInputError, parse_bytes

        prof = self.get(user_id, profile_id)
        if len(data) > MAX_IMPORT_BYTES:
            raise ProfileError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        problems: list[str] = []
        try:
            papers = parse_bytes(data, name, problems)
        except RankInputError as e:
            raise ProfileError(str(e)) from e
        if not papers:
            raise ProfileError(f"{name}: no papers found" + (f" ({problems[0]})" if problems else "") + ".")
        found, missing = self._resolve(papers)
        added = 0
        if missing:
            with tempfile.TemporaryDirectory(prefix="paperboy-import-") as tmp:
                path = Path(tmp) / Path(name).name
                path.write_bytes(data if not data[:2] == b"\x1f\x8b" else __import__("gzip").decompress(data))
                report = self.pb.ingest([path])
            added = report.added
            again, still = self._resolve(missing)
            found += again
            problems += [f"{short_title(p)}: could not be matched to a stored paper" for p in still]
        ids = list(dict.fromkeys(found))
        with self.store.writing() as conn:
            _sql.set_ratings(conn, prof.id, [(i, 1) for i in ids], "import", _now())
        return ImportResult(ids, added, problems)

    def _resolve(self, papers: Sequence[Paper]) -> tuple[list[str], list[Paper]]:
        found, missing = [], []
        for p in papers:
            got = self.pb.paper(p.paper_id()) or (self.pb.paper(p.arxiv_id) if p.arxiv_id else None)
            (found.append(got.id) if got is not None else missing.append(p))
        return found, missing

    def pick_list(self, categories: Sequence[str], n: int = PICK_LIST) -> list[Paper]:
        """A short list of diverse recent papers of the categories, for a reader to pick from (cold start).

        Diversity by farthest-point sampling over the papers' vectors (round-robin over categories
        when there are none).
        """
        cats = [c.strip() for c in categories if c and c.strip()][:10]
        if not cats:
            raise ProfileError("Choose at least one category.")
        with self.store.reading() as conn:
            rows = _sql.diverse_candidates(conn, cats, PICK_POOL)
        ids = list(dict.fromkeys(r.id for _c, r in rows))
        if not ids:
            return []
        order = self._diverse_order(ids, n)
        papers = self.store.get_many(order)
        return [papers[i] for i in order if i in papers]

    def _diverse_order(self, ids: list[str], n: int) -> list[str]:
        try:
            idx = self.pb.indexes
            vec = idx.vectors if idx.dense_ready() else None
        except Exception:  # no usable vectors: fall back to the listing order
            vec = None
        have = [i for i in ids if vec is not None and i in vec]
        if len(have) < min(n, len(ids)):
            return ids[:n]
        X = np.stack([vec.vector(i) for i in have]).astype(np.float32)
        chosen = [0]
        dist = 1.0 - X @ X[0]
        while len(chosen) < min(n, len(have)):
            k = int(np.argmax(dist))
            chosen.append(k)
            dist = np.minimum(dist, 1.0 - X @ X[k])
        return [have[k] for k in chosen]

    def pick(self, user_id: int, profile_id: int, paper_ids: Sequence[str]) -> int:
        """Thumbs up for the picked papers; returns how many were rated."""
        prof = self.get(user_id, profile_id)
        with self.store.reading() as conn:
            ok = _sql.existing_ids(conn, list(paper_ids)[:100])
        with self.store.writing() as conn:
            _sql.set_ratings(conn, prof.id, [(i, 1) for i in paper_ids if i in ok], "pick", _now())
        return len(ok)

    # -- feedback links ------------------------------------------------------------------------------
    def feedback_token(self, fb: Feedback) -> str:
        return self._signer.dumps([fb.user_id, fb.profile_id, fb.paper_id, fb.rating])

    def read_feedback(self, token: str) -> Feedback:
        """The feedback a link carries; InvalidFeedback when tampered with, expired or stale."""
        from itsdangerous import BadData, SignatureExpired

        try:
            uid, pid, paper_id, rating = self._signer.loads(token, max_age=FEEDBACK_DAYS * 86400)
            fb = Feedback(int(uid), int(pid), str(paper_id), int(rating))
        except SignatureExpired as e:
            raise InvalidFeedback("This feedback link has expired.") from e
        except (BadData, ValueError, TypeError) as e:
            raise InvalidFeedback("This feedback link is not valid.") from e
        if fb.rating not in (1, -1):
            raise InvalidFeedback("This feedback link is not valid.")
        try:
            self.get(fb.user_id, fb.profile_id)
        except ProfileNotFound as e:
            raise InvalidFeedback("The profile of this link no longer exists.") from e
        return fb

    def apply_feedback(self, token: str) -> tuple[Feedback, bool]:
        """Record a feedback link's rating; (feedback, changed). The same link twice changes nothing."""
        fb = self.read_feedback(token)
        try:
            changed = self.rate(fb.user_id, fb.profile_id, fb.paper_id, fb.rating, origin="email")
        except ProfileError as e:
            raise InvalidFeedback(str(e)) from e
        return fb, changed


def short_title(p: Paper, n: int = 60) -> str:
    t = " ".join((p.title or "").split())
    return "“" + (t if len(t) <= n else t[: n - 1] + "…") + "”"
