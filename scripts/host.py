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
        sys.executable,
        str(comfyui / "main.py"),
        "--cpu",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-auto-launch",
        "--base-directory",
        str(base),
        "--database-url",
        "sqlite:///:memory:",
        *(extra or []),
    ]


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


def comfyui_path() -> Path:
    path = os.environ.get("SEMANTICGEN_COMFYUI")
    if not path or not (Path(path) / "main.py").is_file():
        raise RuntimeError("SEMANTICGEN_COMFYUI is not set to a ComfyUI folder: use `make test` / `make serve`")
    return Path(path)


class Server:
    """A running ComfyUI. `post` / `get` speak JSON; `run` queues a prompt and waits for its history."""

    def __init__(
        self, base: Path, port: int | None = None, extra: list[str] | None = None, env: dict[str, str] | None = None
    ):
        self.base = prepare_base(base)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        cmd = command(comfyui_path(), self.base, self.port, extra)
        self.proc = subprocess.Popen(cmd, cwd=comfyui_path(), stdout=self._log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_ready(self.url, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"ComfyUI did not start:\n{self.log()[-4000:]}") from None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | list | str]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body)

    def queue(self, prompt: dict) -> tuple[int, dict]:
        return self.post("/prompt", {"prompt": prompt, "client_id": "semanticgen-tests"})

    def wait(self, prompt_id: str, timeout: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, hist = self.get(f"/history/{prompt_id}")
            if status == 200 and prompt_id in hist and hist[prompt_id].get("status", {}).get("completed") is not None:
                entry = hist[prompt_id]
                if entry["status"].get("status_str") in ("success", "error"):
                    return entry
            time.sleep(0.25)
        raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout:.0f}s")

    def run(self, prompt: dict, timeout: float = 300.0) -> dict:
        """Queue and wait; fails the test with the server's own words if the prompt was refused."""
        status, body = self.queue(prompt)
        if status != 200 or body.get("node_errors"):
            raise AssertionError(f"prompt refused ({status}): {json.dumps(body)[:2000]}")
        return self.wait(body["prompt_id"], timeout)

    def outputs(self, entry: dict, kind: str = "images") -> list[Path]:
        """Files a finished prompt wrote, as paths in the output folder."""
        files = []
        for node_out in entry.get("outputs", {}).values():
            for item in node_out.get(kind, []):
                files.append(self.base / "output" / item.get("subfolder", "") / item["filename"])
        return files

    def frames(self, entry: dict) -> list[bytes]:
        """The pixels of the PNG frames a prompt made by `with_frames` wrote, in order (lossless, and without the
        workflow metadata SaveImage embeds: comparable across runs)."""
        from PIL import Image

        pngs = sorted(p for p in self.outputs(entry) if p.suffix == ".png")
        return [Image.open(p).convert("RGB").tobytes() for p in pngs]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def with_frames(prompt: dict, prefix: str) -> dict:
    """The prompt plus a SaveImage of the frames its SaveVideo encodes, so two runs can be compared frame for frame
    (lossless PNGs; the mp4 encoder's bytes need not repeat)."""
    out = json.loads(json.dumps(prompt))
    (video,) = [n for n in out.values() if n["class_type"] == "SaveVideo"]
    images = out[video["inputs"]["video"][0]]["inputs"]["images"]
    out["frames"] = {"class_type": "SaveImage", "inputs": {"images": images, "filename_prefix": prefix}}
    return out


def error_message(entry: dict) -> str:
    """The exception message of a failed prompt from /history."""
    for kind, data in entry["status"].get("messages", []):
        if kind == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return ""


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
