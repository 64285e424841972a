# Every target sets itself up: the virtualenv (cached by pyproject hash) and, where needed, the
# control-plane binaries (cached by version) live in ~/.cache/drs-pause-operator.
SHELL := /bin/bash
PYTEST_ARGS ?=

.PHONY: test demo lint controlplane bench

## Run the whole test suite (lint, unit, contract, simulator, e2e on a real control plane).
test: controlplane
	@venv=$$(scripts/venv.sh) && \
	"$$venv/bin/ruff" check . && \
	{ "$$venv/bin/python" -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; fi; exit $$rc; }

## Run the product locally: control plane + DRS simulator + operator + a sample object.
demo:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/drs-pause-operator" demo

## Build (or find cached) kube-apiserver, kubectl, etcd and helm.
controlplane:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator.devcluster build >/dev/null

lint:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/ruff" check .
