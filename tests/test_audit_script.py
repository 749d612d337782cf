"""scripts/audit.py decides pass/fail from pip-audit's JSON; a stand-in pip-audit plays each case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "audit.py"
VULN = {"id": "PYSEC-2099-1", "fix_versions": ["9.9"], "description": "bad"}


def run(tmp_path: Path, stdout: str, stderr: str = "", code: int = 0, ignore: str | None = None):
    fake = tmp_path / "pip-audit"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nsys.stdout.write({stdout!r})\nsys.stderr.write({stderr!r})\n"
        f"sys.exit({code})\n"
    )
    fake.chmod(0o755)
    ign = tmp_path / "ignore"
    ign.write_text(ignore or "")
    env = {**os.environ, "PAPERBOY_PIP_AUDIT": str(fake), "PAPERBOY_PIP_AUDIT_IGNORE": str(ign)}
    p = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    return p.returncode, p.stdout + p.stderr


def report(*deps) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_clean(tmp_path):
    code, out = run(tmp_path, report({"name": "a", "version": "1", "vulns": []}))
    assert code == 0 and "no known vulnerabilities" in out


def test_a_known_vulnerability_fails(tmp_path):
    code, out = run(tmp_path, report({"name": "a", "version": "1", "vulns": [VULN]}), code=1)
    assert code == 1 and "VULNERABLE a 1: PYSEC-2099-1" in out


def test_an_accepted_vulnerability_passes_and_needs_a_reason(tmp_path):
    # pip-audit leaves ids passed with --ignore-vuln out of its report; the script says what it accepted.
    code, out = run(
        tmp_path,
        report({"name": "a", "version": "1", "vulns": []}),
        ignore="PYSEC-2099-1  only in a code path we never call\n",
    )
    assert code == 0 and "accepted PYSEC-2099-1: only in a code path" in out
    code, out = run(tmp_path, report(), ignore="PYSEC-2099-1\n")
    assert code == 1 and "needs a reason" in out


@pytest.mark.parametrize(
    "stdout,stderr,code",
    [
        ("", "requests.exceptions.ConnectionError: Max retries exceeded with url", 1),
        (report({"name": "a", "version": "1", "skip_reason": "Dependency not found on PyPI"}), "", 0),
    ],
)
def test_an_unreachable_service_skips_without_failing(tmp_path, stdout, stderr, code):
    rc, out = run(tmp_path, stdout, stderr, code)
    assert rc == 0 and out.startswith("audit skipped: vulnerability service unreachable")


def test_a_broken_pip_audit_is_an_error(tmp_path):
    rc, out = run(tmp_path, "", "usage: pip-audit: error: unrecognized arguments", 2)
    assert rc == 2 and "pip-audit failed" in out
