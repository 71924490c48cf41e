"""The real ComfyUI server the API and browser tests talk to (see scripts/host.py), and loading ComfyUI's own
files by path."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from host import Server, error_message, with_frames  # noqa: E402

__all__ = ["PACK_NODES", "ROOT", "Server", "error_message", "load_module", "with_frames"]


def load_module(name: str, path: Path) -> ModuleType:
    """A Python file as a module under `name`: ComfyUI's nodes.py by path, since `nodes` may name this pack."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PACK_NODES = {
    "SemanticGenTextEncoderLoader",
    "SemanticGenTextEncode",
    "SemanticGenEncoderLoader",
    "SemanticGenEncode",
    "SemanticGenCompressorLoader",
    "SemanticGenCompress",
    "SemanticGenPreview",
    "SemanticGenSemanticGeneratorLoader",
    "SemanticGenMemoryPlan",
    "SemanticGenSemanticSampler",
    "SemanticGenLatentGeneratorLoader",
    "SemanticGenLatentSampler",
    "SemanticGenVAEDecode",
    "SemanticGenBuildCache",
    "SemanticGenSemanticModelLoader",
    "SemanticGenLatentModelLoader",
    "SemanticGenWanLatentModelLoader",
    "SemanticGenEmptySemanticLatent",
    "SemanticGenSemanticFromLatent",
    "SemanticGenSemanticConditioning",
    "SemanticGenSwinAttention",
}  # every node id of the pack; ids never change
