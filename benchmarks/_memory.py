"""What a process's resident memory is made of: anonymous (heap, arrays: only freed by the process) versus
file-backed pages of memory-mapped files (vectors, HNSW graph, keyword index, ONNX weights: page cache the
kernel can drop and re-read), from /proc/PID/smaps. psutil's RSS counts both.
"""

from __future__ import annotations

import os
import re
from collections import Counter

_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def _kind(path: str) -> str:
    """A short name for what a mapped file holds."""
    name = os.path.basename(path)
    if name.endswith(".usearch"):
        return "hnsw graph"
    if name.startswith("vectors-"):
        return "vector matrix"
    if "/lexical/" in path:
        return "keyword index"
    if ".onnx" in name:
        return "encoder weights"
    if ".so" in name:
        return "libraries"
    return "other files"


def breakdown(pid: int | str = "self") -> dict:
    """{rss_mb, anon_mb, file_mb, uss_mb, files: {kind: MB}} of a live process."""
    rss: Counter = Counter()
    anon = 0
    kind = "anon"
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            if _MAPPING.match(line):
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) > 5 else ""
                kind = _kind(path) if path.startswith("/") else "anon"
            elif line.startswith("Rss:"):
                rss[kind] += int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon += int(line.split()[1])  # also private copies of file pages (relocations, written data)
    total = sum(rss.values())
    uss = None
    try:
        import psutil

        uss = psutil.Process(None if pid == "self" else int(pid)).memory_full_info().uss / 2**20
    except (ImportError, OSError):
        pass
    files = {k: round(v / 1024, 1) for k, v in rss.most_common() if k != "anon"}
    return {
        "rss_mb": round(total / 1024, 1),
        "anon_mb": round(anon / 1024, 1),
        "file_mb": round((total - anon) / 1024, 1),
        "uss_mb": None if uss is None else round(uss, 1),
        "files": files,
    }


def peak_breakdown(proc) -> dict | None:
    """The breakdown of a running child (subprocess.Popen) at its largest sampled RSS, sampled until it exits."""
    best = None
    while proc.poll() is None:
        try:
            b = breakdown(proc.pid)
        except (OSError, ValueError):  # exited between poll() and the read
            break
        if best is None or b["rss_mb"] > best["rss_mb"]:
            best = b
    return best
