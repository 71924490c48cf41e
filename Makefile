# The README's commands. Every target does its own set-up first (idempotent, fast when done).
SHELL := /bin/bash
SETUP := scripts/setup.sh
PORT ?= 8188
PYTEST_ARGS ?=

.PHONY: setup test serve lint workflows demo toy-models bench pictures

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

# Every moving figure, reproducible: the README's preview (docs/preview.webp) from real `make demo` outputs in
# out/pictures/ (made if missing; delete them to re-run the demos), then the template thumbnails and
# docs/t2v_canvas.png from the browser test's screenshots, so run `make test PYTEST_ARGS="-q tests/test_browser.py"`
# (or `make test`) first.
PICTURES := out/pictures
$(PICTURES)/text_to_video.mp4:
	@$(MAKE) --no-print-directory demo WORKFLOW=text_to_video SEED=3 OUT=$@ \
	  PROMPT="a red circle moving left on a black background"
$(PICTURES)/reference_resynthesis.mp4:
	@$(MAKE) --no-print-directory demo WORKFLOW=reference_resynthesis SEED=0 OUT=$@ \
	  PROMPT="a yellow circle on a navy background"
$(PICTURES)/long_video.mp4:
	@$(MAKE) --no-print-directory demo WORKFLOW=long_video SEED=0 OUT=$@ \
	  PROMPT="a white square bouncing off the walls on a navy background"
pictures: $(PICTURES)/text_to_video.mp4 $(PICTURES)/reference_resynthesis.mp4 $(PICTURES)/long_video.mp4
	@eval "$$(bash $(SETUP))" && "$$VENV/bin/python" scripts/preview.py docs/preview.webp \
	  "text to video|red circle moving left=$(PICTURES)/text_to_video.mp4" \
	  "reference clip (bundled)=assets/semanticgen_sample.mp4" \
	  "re-synthesised with|yellow circle, navy=$(PICTURES)/reference_resynthesis.mp4" \
	  "long video: 60 s|every 8th frame=$(PICTURES)/long_video.mp4:8" && \
	  "$$VENV/bin/python" scripts/thumbnails.py
