"""A throwaway `git worktree` of another ref, for benchmarks that run old and new code side by side.

Imported by the scripts as `from _worktree import worktree_of` (a script's own folder is first on sys.path).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def worktree_of(ref: str) -> Iterator[Path]:
    """A detached checkout of `ref` of this repository, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pb-bench-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
