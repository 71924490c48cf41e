#!/usr/bin/env bash
# Train the whole toy model set from a seed on the CPU, with the project's own training code:
#   dataset -> VAE (ComfyUI's WanVAE class) -> semantic encoder (text-aligned) -> caches (native VAE inside
#   ComfyUI's modules) -> stage 1 (latent generator + compressor) -> stage 2 (semantic generator).
# Results go to models/ (committed). Every step skips itself when its output exists; delete to retrain.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
eval "$(bash scripts/setup.sh)"
export SEMANTICGEN_COMFYUI="$COMFYUI"
py="$VENV/bin/python"
work="${SEMANTICGEN_CACHE:-$HOME/.cache/semanticgen-comfyui}/toy"
mkdir -p "$work" models/vae models/semanticgen/{encoders,compressors,semantic_generators,latent_generators}
start=$(date +%s)
stamp() { echo "[toy] $1 ($(( ($(date +%s) - start) / 60 )) min)"; }

[ -f "$work/dataset.safetensors" ] || "$py" scripts/toy/make_dataset.py --out "$work/dataset.safetensors" --clips 1000
stamp "dataset"
[ -f models/vae/toy_wan_vae.safetensors ] || "$py" scripts/toy/train_vae.py --out models/vae/toy_wan_vae.safetensors --steps 2400
stamp "vae"
[ -f models/semanticgen/encoders/toy_encoder.safetensors ] || "$py" scripts/toy/pretrain_encoder.py \
  --data "$work/dataset.safetensors" --out models/semanticgen/encoders/toy_encoder.safetensors --steps 200 --batch 16
stamp "encoder"
"$py" scripts/toy/build_cache.py --data "$work/dataset.safetensors" --vae models/vae/toy_wan_vae.safetensors \
  --encoder models/semanticgen/encoders/toy_encoder.safetensors --out "$work/cache"
stamp "cache"
"$py" -m semanticgen.train configs/toy/stage_latent.json --cache "$work/cache" --out "$work/stage_latent"
cp "$work/stage_latent/latent_generator.safetensors" models/semanticgen/latent_generators/toy_latent_generator.safetensors
cp "$work/stage_latent/compressor.safetensors" models/semanticgen/compressors/toy_compressor_c8.safetensors
stamp "stage 1"
tmpcfg="$work/stage_semantic.json"
sed "s#REPLACED_BY_train_all.sh#$repo/models/semanticgen/compressors/toy_compressor_c8.safetensors#" \
  configs/toy/stage_semantic.json > "$tmpcfg"
"$py" -m semanticgen.train "$tmpcfg" --cache "$work/cache" --out "$work/stage_semantic"
cp "$work/stage_semantic/semantic_generator.safetensors" models/semanticgen/semantic_generators/toy_semantic_generator.safetensors
stamp "stage 2: done"
