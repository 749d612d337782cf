"""What every text encoder does alike: unit-length rows, and many documents embedded longest first in
batches (little padding per batch) behind one progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np


def unit_rows(vecs: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 in float32 (an all-zero row stays zero)."""
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return (vecs / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def embed_longest_first(
    texts: Iterable[str],
    dim: int,
    batch_size: int,
    encode: Callable[[Sequence[str]], np.ndarray],
    progress: bool = True,
    workers: int = 1,
) -> np.ndarray:
    """float32 (n, dim) rows of `encode(batch)` for each text, in input order.

    Texts are sorted longest first (characters track tokens well enough), so each batch pads little;
    `encode` gets one batch per call, so an encoder that locks per call holds its lock one batch long.
    workers > 1: that many threads call `encode` at once (for an encoder that releases the GIL).
    """
    texts = list(texts)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]

    def embed(idx: np.ndarray) -> int:
        out[idx] = encode([texts[i] for i in idx])  # rows no other worker writes
        return len(idx)

    with (
        tqdm(total=len(texts), desc="embedding", unit="doc", disable=None if progress else True) as bar,
        ThreadPoolExecutor(max(1, min(workers, len(batches))), thread_name_prefix="paperboy-embed") as pool,
    ):
        for n in pool.map(embed, batches):
            bar.update(n)
    return out
