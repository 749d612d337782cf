"""Known-vulnerability audit of requirements.lock with pip-audit (run by scripts/test; also alone).

    .venv/bin/python scripts/audit.py

Exit 0: nothing known, only findings accepted in .pip-audit-ignore (each with a reason), or the
vulnerability service could not be reached (offline CI: prints "audit skipped: ..." and passes).
Exit 1: a known vulnerability that is not accepted. Exit 2: the ignore file or pip-audit is broken.
pip-audit lives in its own venv (.venv-audit, made by `scripts/setup.sh --test`), so its
dependencies never mix with paperboy's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIP_AUDIT = Path(os.environ.get("PAPERBOY_PIP_AUDIT", REPO / ".venv-audit" / "bin" / "pip-audit"))
IGNORE = Path(os.environ.get("PAPERBOY_PIP_AUDIT_IGNORE", REPO / ".pip-audit-ignore"))
TIMEOUT = 60  # seconds for the whole audit; PyPI answers ~100 lookups in a few seconds
EXTRA = ["torch==2.13.0"]  # installed by scripts/setup.sh outside requirements.lock


def accepted() -> dict[str, str]:
    """{vulnerability id: reason} from .pip-audit-ignore ("ID  reason", # comments)."""
    out = {}
    if not IGNORE.exists():
        return out
    for n, line in enumerate(IGNORE.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vid, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"audit: {IGNORE.name}:{n}: {vid} needs a reason after the id")
        out[vid] = reason.strip()
    return out


def main() -> int:
    if not PIP_AUDIT.exists():
        print(f"audit skipped: {PIP_AUDIT} missing (run scripts/setup.sh --test)")
        return 0
    ignore = accepted()
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as reqs:
        reqs.write((REPO / "requirements.lock").read_text() + "\n" + "\n".join(EXTRA) + "\n")
        reqs.flush()
        cmd = [
            str(PIP_AUDIT),
            "-r",
            reqs.name,
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--timeout",
            "15",
            "-f",
            "json",
        ]
        for vid in ignore:
            cmd += ["--ignore-vuln", vid]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "PIP_NO_INPUT": "1"}
            )
        except subprocess.TimeoutExpired:
            print(f"audit skipped: vulnerability service unreachable (no answer within {TIMEOUT} s)")
            return 0
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        if any(
            w in proc.stderr
            for w in (
                "ConnectionError",
                "Max retries",
                "NameResolution",
                "timed out",
                "Temporary failure",
                "Network is unreachable",
                "ConnectTimeout",
            )
        ):
            print(f"audit skipped: vulnerability service unreachable ({last[:200]})")
            return 0
        print(f"audit: pip-audit failed (exit {proc.returncode}): {last[:300]}")
        return 2
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    if deps and not audited:
        # PyPI (or a mirror in front of it) answered, but with no advisory data for any package.
        print(
            f"audit skipped: vulnerability service unreachable (no advisory data for any of {len(deps)} "
            f"packages: {skipped[0]['skip_reason'][:120]})"
        )
        return 0
    found = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
    print(
        f"audit: {len(audited)} packages checked, {len(skipped)} could not be looked up"
        + (f" ({', '.join(d['name'] for d in skipped[:10])}{', ...' if len(skipped) > 10 else ''})" if skipped else "")
    )
    for vid, reason in ignore.items():
        print(f"audit: accepted {vid}: {reason}")
    for name, version, v in found:
        fix = ", ".join(v.get("fix_versions", [])) or "none yet"
        print(f"audit: VULNERABLE {name} {version}: {v['id']} (fixed in: {fix}) {v.get('description', '')[:160]}")
    if found:
        print(f"audit: {len(found)} known vulnerabilities; upgrade, or accept each in {IGNORE.name} with a reason")
        return 1
    print("audit: no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
