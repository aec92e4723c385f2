# Two commands set everything up on a fresh machine:
#   make demo   -> renders the bundled sample letter to out/sample-letter.pdf
#   make test   -> runs the whole test suite on every core (CI runs it after make lint)
# Both create .venv on first use. System libraries (Pango, HarfBuzz subsetter, fonts) come from
# `make system-deps` (Debian/Ubuntu, needs root; skipped quietly when apt-get is unavailable).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint system-deps bench clean

$(STAMP): setup.cfg pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools>=68" wheel
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(STAMP)

system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-core qpdf poppler-utils chromium; do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then echo "installing system packages:$$missing"; \
	    (apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1)) \
	    || echo "warning: could not install$$missing; see README 'System libraries'"; fi; \
	fi

demo: $(STAMP)
	@mkdir -p out
	$(BIN)/priorauth render samples/chronic-migraine-with-aura.yaml -o out/sample-letter.pdf
	@echo "wrote out/sample-letter.pdf"

test: $(STAMP)
	$(BIN)/python -m pytest -n auto

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check priorauth tests benchmarks tools
	$(BIN)/mypy priorauth

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py

clean:
	rm -rf $(VENV) build *.egg-info out .pytest_cache .mypy_cache .ruff_cache
