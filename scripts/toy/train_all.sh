#!/usr/bin/env bash
# Train the whole toy model set from a seed on the CPU, with the project's own training code:
#   dataset -> VAE (ComfyUI's WanVAE class) -> semantic encoder (text-aligned) -> caches (native VAE inside
#   ComfyUI's modules) -> stage 1 (latent generator + compressor) -> in parallel: stage 2 (semantic generator) and
#   the latent generator's refinement in stage 1's frozen semantic space.
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
pids=()
stamp() { echo "[toy] $1 ($(( ($(date +%s) - start) / 60 )) min)"; }

# TOY_CAPTIONS=varied: captions from many templates and synonyms (issue 17); the shipped models used "templated".
[ -f "$work/dataset.safetensors" ] || "$py" scripts/toy/make_dataset.py --out "$work/dataset.safetensors" --clips 1000 \
  --captions "${TOY_CAPTIONS:-templated}"
stamp "dataset"
# VAE: 32-px crops of 5-frame clips (cheap), then 17-frame clips so the causal cache of later chunks is trained.
# One thread per process: two processes with two OpenMP threads each on two cores run ~10x slower.
export OMP_NUM_THREADS=1
[ -f "$work/vae_a.safetensors" ] || "$py" scripts/toy/train_vae.py --out "$work/vae_a.safetensors" --steps 2400 --batch 8 --crop 32
[ -f models/vae/toy_wan_vae.safetensors ] || "$py" scripts/toy/train_vae.py --init "$work/vae_a.safetensors" \
  --out models/vae/toy_wan_vae.safetensors --steps 500 --batch 4 --frames 17 --lr 3e-4
stamp "vae"
[ -f models/semanticgen/encoders/toy_encoder.safetensors ] || "$py" scripts/toy/pretrain_encoder.py \
  --data "$work/dataset.safetensors" --out models/semanticgen/encoders/toy_encoder.safetensors --steps 200 --batch 16
stamp "encoder"
for w in 0 1; do  # two builders in parallel, one core each
  "$py" scripts/toy/build_cache.py --data "$work/dataset.safetensors" --vae models/vae/toy_wan_vae.safetensors \
    --encoder models/semanticgen/encoders/toy_encoder.safetensors --out "$work/cache" --worker "$w/2" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done  # set -e stops here if a builder failed
export OMP_NUM_THREADS=2
stamp "cache"
"$py" -m semanticgen.train configs/toy/stage_latent.json --cache "$work/cache" --out "$work/stage_latent"
stamp "stage 1"
# The semantic space is now fixed. Stage 2 learns it while the latent generator trains on in it (compressor frozen):
# two independent runs, one core each, each logging to its own file. models/ is written only when both are done.
export OMP_NUM_THREADS=1
compressor="$work/stage_latent/compressor.safetensors"
sed "s#REPLACED_BY_train_all.sh#$compressor#" configs/toy/stage_semantic.json > "$work/stage_semantic.json"
sed -e "s#REPLACED_BY_train_all.sh: the stage-1 latent generator#$work/stage_latent/latent_generator.safetensors#" \
    -e "s#REPLACED_BY_train_all.sh: the stage-1 compressor, kept frozen#$compressor#" \
    configs/toy/stage_latent_refine.json > "$work/stage_latent_refine.json"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # one run failing stops the other
pids=()
for run in stage_semantic stage_latent_refine; do
  echo "[toy] $run: log in $work/$run.log"
  "$py" -m semanticgen.train "$work/$run.json" --cache "$work/cache" --out "$work/$run" > "$work/$run.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
trap - EXIT
cp "$compressor" models/semanticgen/compressors/toy_compressor_c8.safetensors
cp "$work/stage_semantic/semantic_generator.safetensors" models/semanticgen/semantic_generators/toy_semantic_generator.safetensors
cp "$work/stage_latent_refine/latent_generator.safetensors" \
  models/semanticgen/latent_generators/toy_latent_generator.safetensors
stamp "stage 2 + latent refinement: done"
