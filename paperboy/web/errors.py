"""Service refusals as HTTP answers, in one place.

Routes let these exceptions through; the app answers each the same way everywhere: an error page
for browsers, `{"detail": ...}` for the APIs. A route catches one only to answer differently
(re-render its form with the message, say).
"""

from __future__ import annotations

from paperboy.service.collections import CollectionConflict, CollectionError, CollectionForbidden, CollectionNotFound
from paperboy.service.comments import CommentError, CommentForbidden, CommentNotFound, CommentRateLimited
from paperboy.service.community import NotFound, RateLimited
from paperboy.service.digest_model import DigestError, NotSubscribed
from paperboy.service.profiles import ProfileError, ProfileNotFound

# The first class an exception is an instance of gives its status: subclasses before their bases.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotFound, 404),
    (ProfileNotFound, 404),
    (CollectionNotFound, 404),
    (CommentNotFound, 404),
    (NotSubscribed, 404),
    (CollectionForbidden, 403),
    (CommentForbidden, 403),
    (CollectionConflict, 409),
    (RateLimited, 429),
    (CommentRateLimited, 429),
    (ProfileError, 400),
    (CollectionError, 400),
    (CommentError, 400),
    (DigestError, 400),
)
HANDLED = tuple(cls for cls, _ in STATUS)


def status_of(exc: Exception) -> tuple[int, dict[str, str] | None]:
    """HTTP status and headers for a service refusal (429s say when to retry)."""
    status = next((s for cls, s in STATUS if isinstance(exc, cls)), 400)
    retry = getattr(exc, "retry_after", None)
    return status, ({"Retry-After": str(retry)} if retry is not None else None)
