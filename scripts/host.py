"""Start a real ComfyUI with this pack: used by `make serve`, `make demo` and the test fixtures."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACK_LINK = "comfyui-semanticgen"


def prepare_base(base: Path, pack: Path = ROOT) -> Path:
    """A ComfyUI base directory (models, input, output, user, custom_nodes) with the pack linked in."""
    for sub in ("custom_nodes", "input", "output", "models", "user", "temp"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    link = base / "custom_nodes" / PACK_LINK
    if link.is_symlink() and Path(os.readlink(link)) != pack:
        link.unlink()
    if not link.exists():
        link.symlink_to(pack, target_is_directory=True)
    return base


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(comfyui: Path, base: Path, port: int, extra: list[str] | None = None) -> list[str]:
    return [
        sys.executable, str(comfyui / "main.py"), "--cpu", "--listen", "127.0.0.1", "--port", str(port),
        "--disable-auto-launch", "--base-directory", str(base), "--database-url", "sqlite:///:memory:",
        *(extra or []),
    ]  # fmt: skip


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    """Poll /object_info until the server answers 200 (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ComfyUI exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/object_info", timeout=10) as r:
                if r.status == 200:
                    json.load(r)
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"ComfyUI at {url} not ready after {timeout:.0f}s")


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Run the real ComfyUI with SemanticGen for use in a browser.")
    ap.add_argument("--comfyui", type=Path, required=True, help="ComfyUI source folder (has main.py)")
    ap.add_argument("--port", type=int, default=8188)
    ap.add_argument("--base", type=Path, default=None, help="base directory (models, input, output, user)")
    a = ap.parse_args()
    cache = Path(os.environ.get("SEMANTICGEN_CACHE", Path.home() / ".cache" / "semanticgen-comfyui"))
    base = prepare_base(a.base or cache / "serve-base")
    sys.stdout.write(f"ComfyUI with SemanticGen: http://127.0.0.1:{a.port}  (base directory {base})\n")
    sys.stdout.flush()
    os.execv(sys.executable, command(a.comfyui, base, a.port))


if __name__ == "__main__":
    main()
