import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent), str(ROOT / "scripts")]  # scripts: host, demo


@pytest.fixture(scope="session")
def server(tmp_path_factory, comfy_modules):
    """One real ComfyUI for the API and browser tests, with tiny models in its temp models folder."""
    from server_harness import Server
    from tiny import write_tiny_models

    base = tmp_path_factory.mktemp("comfy-base")
    write_tiny_models(base / "models")
    srv = Server(base)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def comfy_modules():
    """ComfyUI's own modules importable in-process (CPU), for reference implementations and node tests."""
    import os

    comfyui = os.environ.get("SEMANTICGEN_COMFYUI")
    if not comfyui:
        raise RuntimeError("SEMANTICGEN_COMFYUI is not set: run the tests with `make test`")
    if comfyui not in sys.path:
        sys.path.insert(0, comfyui)
    from comfy.cli_args import args

    args.cpu = True  # no GPU here; the CUDA build of torch needs telling
    return Path(comfyui)


@pytest.fixture(scope="session")
def pack(tmp_path_factory, comfy_modules):
    """The pack imported in-process (as `semanticgen_pack`) with tiny models first in its folders: node id -> class."""
    import folder_paths
    from tiny import write_tiny_models

    tmp = tmp_path_factory.mktemp("nodes")
    folder_paths.set_input_directory(str(tmp / "input"))
    write_tiny_models(tmp / "models", vae=False)
    spec = importlib.util.spec_from_file_location("semanticgen_pack", ROOT / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["semanticgen_pack"] = module
    spec.loader.exec_module(module)
    ext = asyncio.run(module.comfy_entrypoint())
    from semanticgen_pack.nodes.models import FOLDERS

    for key, sub in FOLDERS.items():
        folder_paths.add_model_folder_path(key, str(tmp / "models" / sub), is_default=True)  # before the bundled
    nodes = {n.define_schema().node_id: n for n in asyncio.run(ext.get_node_list())}
    return nodes, tmp
