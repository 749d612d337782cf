"""Static (model2vec) embeddings distilled offline from the packaged MiniLM: an instant tier.

A static model is a token -> vector table (mean-pooled, SIF-weighted, PCA to 256-d) built from one
forward pass of the transformer over its 30k-token vocabulary; embedding a document is a lookup,
so a fresh corpus becomes searchable in minutes instead of the ~20 min a MiniLM pass takes on 2
cores. Measured on SciFact train (dense only): nDCG@10 0.4085 against MiniLM's 0.6602, i.e. far
below BM25 too, at ~460 docs/s while the machine was at load ~11 (74,728 arXiv papers in 279 s),
0.04 ms per query. Use it only for a first "similar papers" pass on a brand-new corpus; its
vectors are another space and need their own VectorIndex (the manifest name differs).

Distillation works offline from a local folder (the packaged model is one) but needs the
`skeletoken` package (`pip install skeletoken`; model2vec's own `[distill]` extra would pin
transformers<5.4). It took 8 min at load ~11 on 2 cores and is saved to `model_dir` once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

DEFAULT_PCA_DIMS = 256
_INFO = "paperboy-static.json"  # records the source model, for a stable manifest name


def _import_model2vec():
    try:
        import model2vec  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("The static embedding tier needs model2vec: pip install model2vec") from exc


def distill_static(target_dir: Path | str, source: str = "default", *, pca_dims: int = DEFAULT_PCA_DIMS) -> Path:
    """Distil a model2vec model from a sentence-transformers model (offline for local folders) into target_dir."""
    _import_model2vec()
    try:
        import skeletoken  # noqa: F401  (model2vec's distill extra; the extra itself pins an old transformers)
        from model2vec.distill import distill
    except ImportError as exc:
        raise ImportError("Distilling a static model needs skeletoken: pip install skeletoken") from exc

    from paperboy.index.embedder import ModelUnavailable, _resolve_model

    load_from, canonical, is_local = _resolve_model(source)
    if not is_local:
        raise ModelUnavailable(f"static distillation needs a local model folder; {source!r} is not one")
    model = distill(model_name=load_from, pca_dims=pca_dims)
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    (target / _INFO).write_text(json.dumps({"source": canonical, "pca_dims": pca_dims}, indent=2))
    return target


class StaticEmbedder:
    """model2vec embedder with the same interface as Embedder (name, dim, embed_documents, embed_query).

    model_dir: folder holding a saved model2vec model; when empty or missing, the model is
    distilled there from `source` first (local folders only, so no network is needed).
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        source: str = "default",
        pca_dims: int = DEFAULT_PCA_DIMS,
        name: str | None = None,
        batch_size: int = 1024,
    ) -> None:
        _import_model2vec()
        from model2vec import StaticModel

        model_dir = Path(model_dir)
        if not (model_dir / "config.json").exists():
            distill_static(model_dir, source, pca_dims=pca_dims)
        self._model = StaticModel.from_pretrained(str(model_dir))
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.dim = int(self._model.dim)
        info = model_dir / _INFO
        source_name = json.loads(info.read_text())["source"] if info.exists() else model_dir.name
        self.name = name or f"model2vec:{source_name}:{self.dim}d"
        self.precision = "static"

    def _encode(self, texts: list[str]) -> np.ndarray:
        vecs = np.asarray(
            self._model.encode(texts, batch_size=self.batch_size, show_progress_bar=False), dtype=np.float32
        )
        if vecs.ndim == 1:
            vecs = vecs.reshape(1, -1)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def embed_documents(self, texts: Iterable[str], progress: bool = True) -> np.ndarray:
        """Embed many texts; returns float32 (n, dim), L2-normalised."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = 8192
        with tqdm(total=len(texts), desc="embedding (static)", unit="doc", disable=None if progress else True) as bar:
            for start in range(0, len(texts), step):
                out[start : start + step] = self._encode(texts[start : start + step])
                bar.update(min(step, len(texts) - start))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns a float32 (dim,) unit vector."""
        return self._encode([" ".join(text.split())])[0]

    def __repr__(self) -> str:
        return f"StaticEmbedder({self.name!r}, dim={self.dim})"
