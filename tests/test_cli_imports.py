"""A command imports only what it runs: --help, ingest, stats and rank never load the web framework or a model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("fastapi", "starlette", "uvicorn", "torch", "sentence_transformers", "transformers", "sklearn")

# Runs the real entry point in a fresh interpreter, then reports which heavy packages got imported.
PROBE = """
import json, sys
from paperboy.cli import main
try:
    main(sys.argv[1:], prog_name="paperboy", standalone_mode=False)
except BaseException:  # the command's own outcome does not matter here, only what it imported
    pass
heavy = {heavy!r}
print("\\nLOADED=" + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def loaded_by(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True, timeout=300
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("LOADED=")]
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(line[-1].removeprefix("LOADED="))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["ingest", "--no-index", "-q", "{hf_page}"],
        ["stats", "--json"],
        ["rank", "--json", "--library", "{hf_page}", "{hf_page}"],  # TF-IDF without scikit-learn
    ],
)
def test_light_commands_import_no_web_framework_and_no_model(args, tmp_path, hf_page):
    home = ["--home", str(tmp_path / "home")]
    args = [a.format(hf_page=hf_page) for a in args]
    assert loaded_by(*home, *args) == []


def test_the_probe_sees_heavy_imports(tmp_path):
    """The check can fail: serving (here on an address that cannot be bound) does load FastAPI."""
    loaded = loaded_by("--home", str(tmp_path / "home"), "serve", "--no-digests", "--host", "256.0.0.1")
    assert "fastapi" in loaded
