# The README's commands. Every target does its own set-up first (idempotent, fast when done).
SHELL := /bin/bash
SETUP := scripts/setup.sh
PORT ?= 8188
PYTEST_ARGS ?=

.PHONY: setup test serve lint workflows demo toy-models bench

setup:
	@bash $(SETUP) --browser >/dev/null

test:
	@eval "$$(bash $(SETUP) --browser)" && \
	  export SEMANTICGEN_COMFYUI="$$COMFYUI" SEMANTICGEN_NODE_DIR="$$NODE_DIR" \
	    SEMANTICGEN_FRONTEND_NEWEST="$$FRONTEND_NEWEST" && \
	  "$$VENV/bin/ruff" check . && \
	  "$$VENV/bin/python" -m pytest $(PYTEST_ARGS)

# The main job: text-to-video through a real headless ComfyUI with the bundled demo models.
PROMPT ?= a red circle moving left on a black background
SEED ?= 0
WORKFLOW ?= text_to_video
OUT ?= out/semanticgen_demo.mp4
demo:
	@eval "$$(bash $(SETUP))" && SEMANTICGEN_COMFYUI="$$COMFYUI" "$$VENV/bin/python" scripts/demo.py \
	  --workflow "$(WORKFLOW)" --prompt "$(PROMPT)" --seed $(SEED) --out "$(OUT)" $(if $(FRAMES),--frames $(FRAMES))

# Performance report (issue 9): prints a table, writes bench/results/latest.{json,png}. BENCH_ARGS=--quick for a short run.
BENCH_ARGS ?=
bench:
	@eval "$$(bash $(SETUP))" && SEMANTICGEN_COMFYUI="$$COMFYUI" "$$VENV/bin/python" bench/run.py $(BENCH_ARGS)

toy-models:
	@bash scripts/toy/train_all.sh

serve:
	@eval "$$(bash $(SETUP))" && "$$VENV/bin/python" scripts/host.py --comfyui "$$COMFYUI" --port $(PORT)

lint:
	@eval "$$(bash $(SETUP))" && "$$VENV/bin/ruff" check . && "$$VENV/bin/ruff" format --check .

workflows:
	@eval "$$(bash $(SETUP))" && SEMANTICGEN_COMFYUI="$$COMFYUI" "$$VENV/bin/python" scripts/workflows.py
