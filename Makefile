# Every target sets itself up: the virtualenv (the dependencies of uv.lock, cached by its hash)
# and, where needed, the control-plane and node binaries (cached by version) and the operator's
# image (cached by a hash of the Dockerfile, uv.lock and the sources) live in
# ~/.cache/drs-pause-operator.
SHELL := /bin/bash
# The venv holds no project: every Python process of a target, and every process it starts, runs
# this clone's operator/ (clones on one machine share the venv, never each other's code).
export PYTHONPATH := $(CURDIR)/operator$(if $(PYTHONPATH),:$(PYTHONPATH))
PYTEST_ARGS ?=
SOAK_SECONDS ?= 600
BENCH_ARGS ?=
# pytest-xdist workers: the end-to-end tests mostly wait (on DRS' simulated delays, on leases,
# on real minutes), so more workers than cores pay off; 0 runs everything in one process.
PYTEST_WORKERS ?= 4
PYTEST := "$$venv/bin/python" -m pytest -n $(PYTEST_WORKERS)

.PHONY: test test-fast test-node demo demo-cluster lint controlplane node actionlint bench soak mutate

## Run the whole test suite (lint, workflows, unit, contract, simulator, e2e on a real control
## plane, and the chart installed by helm on a real node running the image built here), on
## PYTEST_WORKERS workers, each with its own control plane and simulator (which tests share a
## worker or need the machine alone: tests/conftest.py). The set-up targets run side by side: on
## a cold machine the tools' Go builds fill the minutes the images spend downloading packages.
test:
	@$(MAKE) --no-print-directory -j3 controlplane node actionlint
	@venv=$$(scripts/venv.sh) && \
	"$$venv/bin/ruff" check . && \
	"$$venv/bin/mypy" && \
	{ $(PYTEST) $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; fi; exit $$rc; }

## The quick tiers while developing: lint, types, unit, contract, simulator, SDK fidelity and fuzz.
## Leaves out everything that needs Go or a cluster: end to end, node, Argo CD/kstatus health
## checks in Go, actionlint.
test-fast:
	@venv=$$(scripts/venv.sh) && \
	"$$venv/bin/ruff" check . && \
	"$$venv/bin/mypy" && \
	$(PYTEST) tests/unit tests/repo tests/contract tests/simulator tests/fidelity tests/fuzz $(PYTEST_ARGS)

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
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator demo

## Only the node tests: helm installs the chart, the operator runs in a pod (needs root and
## Debian's containerd, runc, containernetworking-plugins, buildah and mmdebstrap).
test-node: controlplane node
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m pytest tests/node $(PYTEST_ARGS)

## The demo with the operator in a pod on a one-node cluster, installed by helm.
demo-cluster: controlplane node
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator.dev.demo_cluster

## Build (or find cached) kube-apiserver, kubectl, etcd and helm.
controlplane:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator.dev.devcluster build >/dev/null

## Build (or find cached) kubelet, kube-controller-manager, kube-scheduler, the pause image and
## the operator's image (from the Dockerfile, with buildah); installs the Debian packages these
## need (containerd, runc, CNI plugins, buildah, mmdebstrap) when missing.
node:
	@scripts/node-packages.sh
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" -m drs_pause_operator.dev.devcluster build --node >/dev/null

## Check the GitHub workflows with actionlint; actionlint and promtool (for the chart's alert
## tests) are built from their Go modules first and cached.
actionlint:
	@venv=$$(scripts/venv.sh) && \
	lint=$$("$$venv/bin/python" -m drs_pause_operator.dev.devcluster build --tools | tail -n 1) && \
	"$$lint" -no-color .github/workflows/*.yaml

lint:
	@venv=$$(scripts/venv.sh) && "$$venv/bin/ruff" check .

## Mutation run, outside `make test`: each named mutant breaks one safety mechanism (the
## precheck, the write-ahead, the held answers, the backoff, the unanswered-lookup rule, the
## endpoint allowlist, the leader's renew deadline, the delay gate, catch-up, plans) in a copy
## of this checkout and runs the tests that guard it; prints caught and survived. MUTATE_ARGS,
## e.g. "--fast" (unit guards only) or "--only write-ahead".
MUTATE_ARGS ?=
mutate: controlplane
	@venv=$$(scripts/venv.sh) && "$$venv/bin/python" scripts/mutate.py $(MUTATE_ARGS)
