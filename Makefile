# Two entry points: `make demo` (main job on the embedded default models) and `make test`.
# Both create .venv when missing and install what they need (torch pinned to the CPU wheel
# through constraints.txt).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install-dev install-demo data train export bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q -U pip wheel setuptools

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

# The demo needs no torch: the runtime is onnxruntime-only.
$(VENV)/.installed-demo: pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q -c constraints.txt -e '.[langchain,litellm]'
	touch $@

install-dev: $(VENV)/.installed-dev
install-demo: $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(PY) -m guard_plugins.demo

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

# The pipeline that builds the default models (outside CI; see docs/retraining.md).
data: $(VENV)/.installed-dev
	$(VENV)/bin/guard-synth --offline --out data/default
# The shipped recipes (guard-train defaults). On a GPU they run whole (about 3 minutes each on
# an H200); on 2 CPU cores --time-budget fits each into 150 minutes by shortening the schedule.
TRAIN_FLAGS ?= --freeze-embeddings --time-budget 150
# Fewer glibc malloc arenas: an 80-minute CPU output run without it grew to 24 GB and was
# OOM-killed; resumed with it, it stayed between 6 and 15 GB (docs/retraining.md, "Memory on CPU").
train: export MALLOC_ARENA_MAX = 2
train: $(VENV)/.installed-dev
	$(VENV)/bin/guard-train input --data data/default --out checkpoints/input $(TRAIN_FLAGS)
	$(VENV)/bin/guard-train category-head --data data/default --ckpt checkpoints/input
	$(VENV)/bin/guard-train output --data data/default --out checkpoints/output $(TRAIN_FLAGS)
export: $(VENV)/.installed-dev
	$(VENV)/bin/guard-export checkpoints/input --out exported_models/input --quantize int8
	$(VENV)/bin/guard-export checkpoints/output --out exported_models/output --quantize int8
bench: $(VENV)/.installed-dev
	$(PY) bench/run_all.py --out bench/results.json

clean:
	rm -rf $(VENV) .pytest_cache
