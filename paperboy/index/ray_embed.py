"""Embedding as a Ray Data job: an actor pool where each actor loads the encoder once (`paperboy index --ray`).

RayEmbedder has the embedder interface, so `Indexes` writes its vectors back through the same resumable path as
local embedding (embed_missing: upsert + save every checkpoint, unchanged texts skipped by hash): kill the driver,
rerun, and only the checkpoint in flight is embedded again. Needs the optional extra `paperboy[cluster]`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class _Encode:
    """One Ray actor: loads the encoder once, then embeds batches of texts."""

    def __init__(self, model: str, cache_dir: str | None, backend: str, device: str, threads: int):
        from paperboy.index.embedder import load_embedder

        kwargs = {"threads": threads} if backend != "torch" else {"device": device}
        self.encoder = load_embedder(model, cache_dir=Path(cache_dir) if cache_dir else None, backend=backend, **kwargs)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vecs = self.encoder.embed_documents([str(t) for t in batch["text"]], progress=False)
        return {"row": batch["row"], "vector": vecs}


class RayEmbedder:
    """Sends each embed_documents() call to a Ray cluster as one Ray Data job; same vectors as local embedding.

    address: "local" starts a Ray instance on this machine; otherwise anything ray.init() accepts
    ("auto", "HOST:6379" for a `ray start --head` cluster, "ray://HOST:10001" for KubeRay's client port).
    With GPUs in the cluster each actor takes one and runs sentence-transformers on it (ONNX Runtime's CPU build
    has no GPU provider); otherwise actors run the ONNX encoder on one CPU thread each, one actor per CPU.
    """

    def __init__(
        self,
        address: str,
        local,
        *,
        model: str,
        cache_dir: Path | None = None,
        backend: str = "auto",
        batch_size: int = 64,
    ):
        try:
            import ray
        except ImportError as exc:
            raise ImportError("`paperboy index --ray` needs Ray: pip install 'paperboy[cluster]'") from exc
        self._ray = ray
        if not ray.is_initialized():
            if address == "local":
                ray.init(
                    num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False, configure_logging=False
                )
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        self.name, self.dim = local.name, local.dim
        self.batch_size = batch_size
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0))
        self.actors = self.gpus or max(1, int(resources.get("CPU", 1)))
        self._args = (
            model,
            str(cache_dir) if cache_dir and address == "local" else None,
            "torch" if self.gpus else backend,
            "cuda" if self.gpus else "cpu",
            1,
        )

    def embed_documents(self, texts: Iterable[str], progress: bool = True) -> np.ndarray:
        """Embed many texts on the cluster; float32 (n, dim), L2-normalised, in input order."""
        ray = self._ray
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = bool(progress)
        # Longest first, so each actor's batches pad little (the encoder sorts within a batch as well).
        order = np.argsort([-len(t) for t in texts], kind="stable")
        ds = ray.data.from_items(
            [{"row": int(i), "text": texts[i]} for i in order],
            override_num_blocks=max(1, min(len(texts) // self.batch_size, self.actors * 4)),
        )
        ds = ds.map_batches(
            _Encode,
            fn_constructor_args=self._args,
            batch_size=self.batch_size,
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_gpus=1 if self.gpus else 0,
            num_cpus=0 if self.gpus else 1,
            batch_format="numpy",
        )
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            out[batch["row"]] = batch["vector"]
        return out

    def shutdown(self) -> None:
        self._ray.shutdown()
