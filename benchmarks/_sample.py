"""The raw records of the arXiv sample (one JSON object a line in monthly *.jsonl.gz shards), shard by shard.

Imported by the scripts as `from _sample import sample_records` (a script's own folder is first on sys.path).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path


def sample_records(directory: Path) -> Iterator[dict]:
    """Every record of every shard under `directory`, shards in name (= month) order."""
    for shard in sorted(Path(directory).glob("*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
