"""environment=production refuses unsafe settings: no/short/placeholder secret key, cookie_secure=never."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from pydantic import ValidationError

from paperboy.config import GENERATE_KEY, PLACEHOLDER_KEYS, Settings

GOOD = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith("PAPERBOY_") and k not in ("PAPERBOY_SHARED",):
            monkeypatch.delenv(k)


def refused(**kw) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(environment="production", **kw)
    msg = str(info.value)
    assert GENERATE_KEY in msg or "cookie" in msg.lower()
    return msg


def test_development_keeps_the_generated_key_file(tmp_path):
    s = Settings(home=tmp_path)
    assert s.environment == "development" and s.secret_key is None
    from paperboy.config import load_secret_key

    key = load_secret_key(s)
    assert len(key) >= 32 and (tmp_path / "secret_key").read_bytes().strip() == key
    Settings(home=tmp_path, secret_key="dev", cookie_secure="never")  # anything goes in development


def test_production_needs_a_secret_key(tmp_path):
    assert "is not set" in refused(home=tmp_path)


def test_production_refuses_a_short_key(tmp_path):
    assert "shorter than 32" in refused(home=tmp_path, secret_key=GOOD[:31])


@pytest.mark.parametrize("key", sorted(PLACEHOLDER_KEYS) + ["ChangeMe", "x" * 64, "ab" * 20])
def test_production_refuses_placeholders(tmp_path, key):
    msg = refused(home=tmp_path, secret_key=key)
    assert "placeholder" in msg or "shorter" in msg or "repetitive" in msg


def test_the_readme_example_key_is_refused(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = next(k for k in PLACEHOLDER_KEYS if len(k) >= 32)
    assert example in readme  # the README shows exactly the value the check refuses
    assert "placeholder" in refused(home=tmp_path, secret_key=example)


def test_production_refuses_cookie_secure_never(tmp_path):
    assert "COOKIE_SECURE=never" in refused(home=tmp_path, secret_key=GOOD, cookie_secure="never")


def test_production_with_a_strong_key_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBOY_ENVIRONMENT", "production")
    monkeypatch.setenv("PAPERBOY_SECRET_KEY", GOOD)
    s = Settings(home=tmp_path)
    assert s.environment == "production" and s.secret_key == GOOD and s.cookie_secure == "auto"


def test_environment_comes_from_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERBOY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError):
        Settings(home=tmp_path)


@pytest.mark.parametrize("key", [None, "changeme", "too-short-key"])
def test_serve_refuses_to_start_in_production(tmp_path, key):
    """`paperboy serve` as a real process: one clear line on stderr, exit code 2, no traceback, no server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")}
    env["PAPERBOY_ENVIRONMENT"] = "production"
    if key:
        env["PAPERBOY_SECRET_KEY"] = key
    proc = subprocess.run(
        [sys.executable, "-m", "paperboy.cli", "--home", str(tmp_path / "home"), "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paperboy: refusing to start:"), proc.stderr
    assert "Traceback" not in proc.stderr and GENERATE_KEY in lines[0]
    assert "serving http" not in proc.stderr + proc.stdout
