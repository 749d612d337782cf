"""The API contract check: schemathesis, all checks and all phases, against a served paperboy.

Builds a small home (the Hugging Face page dump from ../shared, lexical index only), serves it with
the project's own `paperboy serve` on a free 127.0.0.1 port, signs up a verified administrator (so the
moderation routes are exercised too) and runs `schemathesis run` as that account (session cookie +
CSRF header) with a bounded budget; half the generated paper ids are ids of the home's papers. The
exit code is schemathesis's: 0 only when it reports no failure and no error.

    .venv/bin/python scripts/contract.py [extra schemathesis args...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.live import ServeProcess, signed_up_client  # noqa: E402  (the same served instance the tests use)

SHARED = Path(os.environ.get("PAPERBOY_SHARED", REPO.parent / "shared"))
HF_PAGE = SHARED / "corpus" / "hf-papers-search-page.txt"
ADMIN = "contract-admin@example.org"
# Bounds: ~10 cases per operation and phase, a hard stop for fuzzing/stateful, one worker (2 shared cores).
SCHEMATHESIS_ARGS = [
    "--checks",
    "all",
    "--phases",
    "examples,coverage,fuzzing,stateful",
    "--max-examples",
    "10",
    "--max-time",
    "60",
    "--seed",
    "15",
    "--workers",
    "1",
    "--request-timeout",
    "20",
    "--suppress-health-check",
    "too_slow,filter_too_much",
    "--no-shrink",
]


def build_home(home: Path) -> list[str]:
    """A home with the HF page's papers, lexical index only (no model load); a few of their ids."""
    from paperboy.config import Settings
    from paperboy.service import Paperboy

    pb = Paperboy(Settings(home=home, secret_key="test-secret"))
    try:
        report = pb.ingest([HF_PAGE])
        assert report.added > 0, report
        pb.update_index(embed=False)
        return [v.paper.id for v in pb.community.trending("all", 5).items]
    finally:
        pb.close()


def config_file(tmp: Path, paper_ids: list[str]) -> Path:
    """scripts/schemathesis.toml plus the ids of real papers, used for half the generated paper ids, so
    the routes answer with papers (and their schemas get checked) rather than only 404."""
    ids = ", ".join(f'"{i}"' for i in paper_ids)
    extra = (
        f"\n[dictionaries.papers]\nvalues = [{ids}]\n\n[parameters]\n"
        '"path.paper_id" = { dictionary = "papers", probability = 0.5 }\n'
        '"path.arxiv_id" = { dictionary = "papers", probability = 0.5 }\n'
    )
    path = tmp / "schemathesis.toml"
    path.write_text((REPO / "scripts" / "schemathesis.toml").read_text() + extra)
    return path


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("PAPERBOY_HARVEST_INTERVAL_HOURS", "0")
    os.environ.setdefault("PAPERBOY_ADMIN_EMAILS", f'["{ADMIN}"]')
    with tempfile.TemporaryDirectory(prefix="paperboy-contract-") as tmp:
        home = Path(tmp) / "home"
        config = config_file(Path(tmp), build_home(home))
        with ServeProcess(home, None, Path(tmp) / "serve.log") as server:
            client, csrf = signed_up_client(server, ADMIN)
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            cmd = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(config),
                "run",
                f"{server.url}/openapi.json",
                *SCHEMATHESIS_ARGS,
                "-H",
                f"Cookie: {cookie}",
                "-H",
                f"X-CSRF-Token: {csrf}",
                *argv,
            ]
            shown = [a if not a.startswith(("Cookie:", "X-CSRF")) else a.split(":")[0] + ": ..." for a in cmd]
            print("$", " ".join(shown), flush=True)
            started = time.monotonic()
            rc = subprocess.run(cmd, cwd=tmp).returncode  # its .schemathesis/ cache stays in the temporary dir
            print(f"=== schemathesis: exit {rc} in {time.monotonic() - started:.0f} s ===", flush=True)
            client.close()
            if rc != 0:
                print(server.log()[-4000:], file=sys.stderr)
            return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
