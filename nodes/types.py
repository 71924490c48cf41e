"""Socket types of the pack, declared once. Payloads are `semanticgen` objects, never loose dicts."""

from comfy_api.latest import io

Encoder = io.Custom("SEMANTICGEN_ENCODER")  # ModelPatcher around semanticgen.SemanticEncoder
Compressor = io.Custom("SEMANTICGEN_COMPRESSOR")  # ModelPatcher around semanticgen.SemanticCompressor
Features = io.Custom("SEMANTICGEN_FEATURES")  # semanticgen.SemanticVideo, encoder width d
Semantic = io.Custom("SEMANTICGEN_SEMANTIC")  # semanticgen.SemanticVideo, compressed width c
TextEncoder = io.Custom("SEMANTICGEN_TEXT_ENCODER")  # ModelPatcher around semanticgen.text.MiniLMTextEncoder
SemanticGenerator = io.Custom("SEMANTICGEN_SEMANTIC_GENERATOR")  # ModelPatcher around SemanticGenDiT (stage 1)
LatentGenerator = io.Custom("SEMANTICGEN_LATENT_GENERATOR")  # ModelPatcher around SemanticGenDiT (stage 2)
