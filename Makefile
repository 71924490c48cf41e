# The README's commands. Every target does its own set-up first (idempotent, fast when done).
SHELL := /bin/bash
SETUP := scripts/setup.sh
PORT ?= 8188
PYTEST_ARGS ?=

.PHONY: setup test serve lint workflows

setup:
	@bash $(SETUP) --browser >/dev/null

test:
	@eval "$$(bash $(SETUP) --browser)" && \
	  export SEMANTICGEN_COMFYUI="$$COMFYUI" SEMANTICGEN_NODE_DIR="$$NODE_DIR" && \
	  "$$VENV/bin/ruff" check . && \
	  "$$VENV/bin/python" -m pytest $(PYTEST_ARGS)

serve:
	@eval "$$(bash $(SETUP))" && "$$VENV/bin/python" scripts/host.py --comfyui "$$COMFYUI" --port $(PORT)

lint:
	@eval "$$(bash $(SETUP))" && "$$VENV/bin/ruff" check . && "$$VENV/bin/ruff" format --check .

workflows:
	@eval "$$(bash $(SETUP))" && SEMANTICGEN_COMFYUI="$$COMFYUI" "$$VENV/bin/python" scripts/workflows.py
