"""The real ComfyUI server the API and browser tests talk to (see scripts/host.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from host import Server, error_message, with_frames  # noqa: E402

__all__ = ["PACK_NODES", "ROOT", "Server", "error_message", "with_frames"]

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
