#!/usr/bin/env bash
# Train the whole toy model set from a seed on the CPU, with the project's own training code:
#   datasets (short clips, minute-long bouncing clips) -> VAE (ComfyUI's WanVAE class) -> semantic encoder
#   (text-aligned) -> caches (native VAE inside ComfyUI's modules) -> stage 1 (latent generator + compressor) ->
#   two lanes, one core each:
#     A: stage 2 (semantic generator) on short clips, then continued on minute-long clips (full attention);
#     B: the latent generator's refinement in stage 1's frozen semantic space, then continued on Swin windows cut
#        from the long clips; then, on lane A, the Swin-only baseline (the same refined generator continued on the
#        same windows with text only: no semantic planning), for the long-video comparison.
# Everything is trained in $work (~/.cache/semanticgen-comfyui/toy); models/ (committed) is written at the end. A
# re-run resumes: every step skips itself when its output exists, runs resume from their checkpoints. Delete $work
# to retrain from scratch.
# As of 2026-12-02 this recipe's models regressed (docs/toy_world.md) and are not the shipped ones; those came from
# this script at commit c3cddee.
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

# Captions from many templates and synonyms (semanticgen.toy.captions); TOY_CAPTIONS=templated gives the 5 templates
# of the models shipped before (same clips).
captions="${TOY_CAPTIONS:-varied}"
[ -f "$work/dataset.safetensors" ] || "$py" scripts/toy/make_dataset.py --out "$work/dataset.safetensors" --clips 1000 \
  --captions "$captions"
stamp "dataset"
# VAE: 32-px crops of 5-frame clips (cheap), then 17-frame clips so the causal cache of later chunks is trained.
# One thread per process: two processes with two OpenMP threads each on two cores run ~10x slower.
export OMP_NUM_THREADS=1
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # one lane failing stops the other
# lane B while the VAE trains: the minute-long clips (481 frames) and the encoder
(
  [ -f "$work/long.safetensors" ] || "$py" scripts/toy/make_dataset.py --out "$work/long.safetensors" --long \
    --clips 64 --frames 481 --captions "$captions" --seed 1
  [ -f "$work/encoder.safetensors" ] || "$py" scripts/toy/pretrain_encoder.py \
    --data "$work/dataset.safetensors" --out "$work/encoder.safetensors" --steps 200 --batch 16 \
    --targets attributes
) > "$work/lane_b_data.log" 2>&1 &
lane_b=$!
if [ ! -f "$work/vae.safetensors" ]; then
  [ -f "$work/vae_a.safetensors" ] || "$py" scripts/toy/train_vae.py --out "$work/vae_a.safetensors" --steps 2400 \
    --batch 8 --crop 32
  "$py" scripts/toy/train_vae.py --init "$work/vae_a.safetensors" --out "$work/vae.safetensors" --steps 500 --batch 4 \
    --frames 17 --lr 3e-4
fi
stamp "vae"
wait "$lane_b" || { cat "$work/lane_b_data.log"; exit 1; }
stamp "long clips + encoder"
for data in dataset long; do
  out="$work/cache"; shard=250
  [ "$data" = long ] && out="$work/cache_long" && shard=20
  for w in 0 1; do  # two builders in parallel, one core each
    "$py" scripts/toy/build_cache.py --data "$work/$data.safetensors" --vae "$work/vae.safetensors" \
      --encoder "$work/encoder.safetensors" --out "$out" --worker "$w/2" --shard-size $shard &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done  # set -e stops here if a builder failed
  pids=()
done
if [ ! -d "$work/cache_windows" ]; then  # Swin-window rows for the latent stage, cut from the long cache
  rm -rf "$work/cache_windows.tmp"
  "$py" scripts/toy/slice_cache.py "$work/cache_long" "$work/cache_windows.tmp" --window 9 --stride 4
  mv "$work/cache_windows.tmp" "$work/cache_windows"
fi
export OMP_NUM_THREADS=2
stamp "caches"
"$py" -m semanticgen.train configs/toy/stage_latent.json --cache "$work/cache" --out "$work/stage_latent"
stamp "stage 1"
# The semantic space is now fixed. Two lanes of independent runs, one core each, each run logging to its own file.
# models/ is written only when all are done.
export OMP_NUM_THREADS=1
compressor="$work/stage_latent/compressor.safetensors"
fill() {  # config -> the run's config with train_all.sh's placeholders filled in
  sed -e "s#REPLACED_BY_train_all.sh: the stage-1 latent generator#$work/stage_latent/latent_generator.safetensors#" \
      -e "s#REPLACED_BY_train_all.sh: the refined latent generator#$work/stage_latent_refine/latent_generator.safetensors#" \
      -e "s#REPLACED_BY_train_all.sh: the short-clip semantic generator#$work/stage_semantic/semantic_generator.safetensors#" \
      -e "s#REPLACED_BY_train_all.sh: the stage-1 compressor, kept frozen#$compressor#" \
      -e "s#REPLACED_BY_train_all.sh#$compressor#" "configs/toy/$1.json" > "$work/$1.json"
}
run() {  # config cache
  fill "$1"
  echo "[toy] $1: log in $work/$1.log"
  "$py" scripts/train.py "$work/$1.json" --cache "$work/$2" --out "$work/$1" > "$work/$1.log" 2>&1  # + ComfyUI's VAE
}
( run stage_semantic cache && run stage_semantic_long cache_long ) &
lane_a=$!
( run stage_latent_refine cache && run stage_latent_long cache_windows ) &
lane_b=$!
wait "$lane_a"
stamp "lane A: semantic generators"
refined="$work/stage_latent_refine/latent_generator.safetensors"
( until [ -f "$refined" ]; do sleep 10; done; run stage_latent_long_textonly cache_windows ) &  # from lane B's first run
baseline=$!
wait "$lane_b"
stamp "lane B: latent generators"
wait "$baseline"
stamp "Swin-only baseline"
trap - EXIT
d=models/semanticgen
cp "$work/vae.safetensors" models/vae/toy_wan_vae.safetensors
cp "$work/encoder.safetensors" $d/encoders/toy_encoder.safetensors
cp "$compressor" $d/compressors/toy_compressor_c8.safetensors
cp "$work/stage_semantic/semantic_generator.safetensors" $d/semantic_generators/toy_semantic_generator.safetensors
cp "$work/stage_semantic_long/semantic_generator.safetensors" $d/semantic_generators/toy_semantic_generator_long.safetensors
cp "$work/stage_latent_refine/latent_generator.safetensors" $d/latent_generators/toy_latent_generator.safetensors
cp "$work/stage_latent_long/latent_generator.safetensors" $d/latent_generators/toy_latent_generator_long.safetensors
mkdir -p models/baselines
cp "$work/stage_latent_long_textonly/latent_generator.safetensors" models/baselines/toy_latent_generator_long_textonly.safetensors
stamp "done"
