"""Exact top-k over a float16 matrix: an int8 matrix-vector product in ONNX Runtime, then float16 rescoring.

Why not the usearch scan: usearch's exact search pays a fixed cost per row for its own bookkeeping, whatever
the element type (even 48-byte bit vectors scan barely faster than float16 ones), while ONNX Runtime's
MatMulInteger (MLAS, VNNI where the CPU has it) computes all the int8 dot products ~3x faster. The int8
scores only choose candidates: the best RESCORE_FACTOR x k rows are scored again from the float16 matrix, so
the order and scores returned are those of the float16 vectors (the int8 rounding error is far smaller than
the gap between the k-th and the candidate rows; benchmarks/RESULTS.md has the measurements).

The quantised copy (one byte per element, plus MLAS's packed copy of it) is built for one matrix and never
updated: the owner builds a new scan when its rows change.
"""

from __future__ import annotations

import functools

import numpy as np

# Candidates rescored from float16 per result asked for, and at least this many.
RESCORE_FACTOR = 4
RESCORE_MIN = 256
_BLOCK = 4_096  # rows quantised at a time: small temporaries, which the allocator reuses instead of keeping
# Weights use 7 bits: without VNNI, MLAS multiplies u8 x s8 pairs into saturating int16 sums, which
# 2 x 255 x 63 never exceeds (ONNX Runtime's own quantiser reduces the range for the same reason).
_WEIGHT_MAX = 63


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether ONNX Runtime and onnx (to build the one-node graph) are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class Int8Scan:
    """Exact top-k by inner product over the rows of `matrix` (float16, unit rows), read-only."""

    def __init__(self, matrix: np.ndarray) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper

        self._matrix = matrix
        n, dim = matrix.shape
        self.n, self.dim = n, dim
        peak = max((float(np.abs(matrix[s : s + _BLOCK]).max()) for s in range(0, n, _BLOCK)), default=0.0)
        scale = _WEIGHT_MAX / peak if peak > 0 else 1.0
        weights = np.empty((dim, n), dtype=np.int8)  # MatMulInteger's B: one column per row of the matrix
        for s in range(0, n, _BLOCK):
            block = matrix[s : s + _BLOCK].astype(np.float32) * scale
            weights[:, s : s + block.shape[0]] = np.clip(np.rint(block), -_WEIGHT_MAX, _WEIGHT_MAX).astype(np.int8).T
        # The weights reach the session as an external initializer backed by this array: built into the
        # model proto they would be copied twice more (the proto, then its serialised bytes).
        w = TensorProto(name="W", data_type=TensorProto.INT8, dims=[dim, n], data_location=TensorProto.EXTERNAL)
        for key, value in (("location", "int8-scan-weights"), ("offset", "0"), ("length", str(weights.nbytes))):
            w.external_data.add(key=key, value=value)
        # The query goes in as uint8 around a zero point of 128: MLAS's fast kernels take u8 x s8.
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["q", "W", "zero"], ["scores"])],
            "int8_scan",
            [helper.make_tensor_value_info("q", TensorProto.UINT8, [1, dim])],
            [helper.make_tensor_value_info("scores", TensorProto.INT32, [1, n])],
            initializer=[w, helper.make_tensor("zero", TensorProto.UINT8, [], b"\x80", raw=True)],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        opts = ort.SessionOptions()
        # One thread: the scan shares the box with the request's other half and other requests.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._weights = ort.OrtValue.ortvalue_from_numpy(weights)  # must outlive the session
        opts.add_external_initializers(["W"], [self._weights])
        self._session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def search(self, q: np.ndarray, count: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, float32 scores) of the best `count` rows for unit query `q`, best first.

        keep: a boolean per row; rows where it is False are never returned. Fewer than `count` come back only
        when fewer rows are kept.
        """
        peak = float(np.abs(q).max()) or 1.0
        qu = (np.rint(q * (127.0 / peak)) + 128).astype(np.uint8).reshape(1, self.dim)
        approx = self._session.run(None, {"q": qu})[0].reshape(-1)
        if keep is not None:
            approx[~keep[: self.n]] = np.iinfo(np.int32).min
            allowed = int(np.count_nonzero(keep[: self.n]))
        else:
            allowed = self.n
        count = min(count, allowed)
        if count <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        pool = min(max(count * RESCORE_FACTOR, RESCORE_MIN), allowed)
        if pool < self.n:  # the kept rows all score above the excluded ones (int32 min)
            rows = np.sort(np.argpartition(approx, self.n - pool)[self.n - pool :])  # sorted: the gather walks forwards
        else:
            rows = np.arange(self.n)
        scores = self._matrix[rows].astype(np.float32) @ q
        best = np.argsort(-scores, kind="stable")[:count]
        return rows[best].astype(np.int64), scores[best]
