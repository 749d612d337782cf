#!/usr/bin/env bash
# Installs everything paperboy needs into ./.venv (idempotent; fast when already done).
#   scripts/setup.sh          runtime + search + web
#   scripts/setup.sh --test   also the test tools, Chromium and PostgreSQL (Debian packages)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch first and pinned: 2.13.0 is the CPU build on local disk; any other version pulls a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${PIP[@]}" torch==2.13.0
fi
"${PIP[@]}" -r requirements.lock
"${PIP[@]}" --no-deps --no-build-isolation -e .
# The packaged embedding model exported once for ONNX Runtime into the machine-wide cache (~30 s the first
# time, then instant): search and indexing then run without loading PyTorch.
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -c \
  "from paperboy.index.embedder import prepare_default_encoder as p; p()"
# Browser assets served by paperboy itself (KaTeX, the map, ...), built from frontend/*/ with npm.
scripts/build_frontend.sh

if [ "$want_test" = 1 ]; then
  # pip-audit (scripts/audit.py) in a venv of its own, so its dependencies never mix with paperboy's.
  if [ ! -x .venv-audit/bin/pip-audit ]; then
    { "$PY" -m venv .venv-audit && .venv-audit/bin/python -m pip install --disable-pip-version-check -q \
        pip-audit==2.10.1; } || echo "setup: could not install pip-audit; the dependency audit will be skipped" >&2
  fi
  need=()
  command -v chromium >/dev/null || need+=(chromium chromium-driver)
  command -v pg_ctlcluster >/dev/null || [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
      echo "setup: please install Debian packages: ${need[*]}" >&2
    fi
  fi
fi
echo "setup: ready ($(.venv/bin/python -c 'import paperboy, sys; print(sys.version.split()[0])'))"
