"""Work a command starts in the background while the rest of it loads (imports, store, indexes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paperboy.config import Settings


def preload_encoder(settings: Settings, query: str) -> bool:
    """Load the query encoder in a thread, so `paperboy search` overlaps it with opening the store; the index
    takes that encoder when the search needs it. False (nothing started) without vectors or off the ONNX path."""
    if not (settings.index_dir / "dense").is_dir():  # never embedded: a hybrid search will not encode
        return False
    from paperboy.index.embedder import ENCODER_CACHE, preload_embedder

    return preload_embedder(
        settings.embedding_model,
        cache_dir=settings.index_dir / ENCODER_CACHE,
        backend=settings.embedding_backend,
        warm_query=query,
    )
