# Every target sets itself up: the virtualenv (cached by pyproject hash) and, where needed, the
# control-plane binaries (cached by version) live in ~/.cache/drs-pause-operator.
SHELL := /bin/bash
PYTEST_ARGS ?=
SOAK_SECONDS ?= 600
BENCH_ARGS ?=

.PHONY: test demo lint controlplane bench soak

## Run the whole test suite (lint, unit, contract, simulator, e2e on a real control plane).
test: controlplane
	@venv=$$(scripts/venv.sh) && \
	"$$venv/bin/ruff" check . && \
	{ "$$venv/bin/python" -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; fi; exit $$rc; }

## Soak, outside `make test`: objects created and deleted for SOAK_SECONDS (default 600) while the
## operator's memory and connections are sampled; prints the figures, fails if they grow.
soak: controlplane
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" tests/soak/soak.py --duration $(SOAK_SECONDS)

## Benchmark, outside `make test`: latency against the floor, a burst against the Huawei SDK script,
## 5,000 objects and a restart; prints one table and writes bench-results/bench.json. Knobs, e.g.
## BENCH_ARGS="--objects 500 --jobs-per-object 10 --scale 5000 --latency-ms 50 --runs 20".
bench: controlplane
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" tests/bench/bench_run.py $(BENCH_ARGS)

## Run the product locally: control plane + DRS simulator + operator + a sample object.
demo:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/drs-pause-operator" demo

## Build (or find cached) kube-apiserver, kubectl, etcd and helm.
controlplane:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator.dev.devcluster build >/dev/null

lint:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/ruff" check .
