# syntax=docker/dockerfile:1
# drs-pause-operator image: the runtime dependencies are exactly those of uv.lock (the versions the
# tests ran with), checked against the lock's hashes; the project's wheel is built in one stage and
# installed without dependencies into a slim runtime that has no compiler and no build tools.
#   docker build -t drs-pause-operator:0.1.0 .
# PYTHON_IMAGE: the image both stages start from; by default the python-base stage, which names
# the public image in a FROM line of its own (Dependabot updates it; it reads no `FROM ${ARG}`).
# Any Debian-based image with Python 3.11, pip, venv and useradd will do: without a registry,
# `make node` builds one from Debian's python3 and builds this file with buildah against it.
ARG PYTHON_IMAGE=python-base

FROM python:3.11-slim-bookworm AS python-base

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /src
# Only what the build needs (see .dockerignore): the lock and the metadata first, then the sources.
COPY pyproject.toml uv.lock README.md ./
COPY scripts/locked_uv.py scripts/
# The build's tools in a venv of their own: uv at the version and hashes uv.lock records. It
# exports the lock's runtime dependencies and its build backend (setuptools, wheel) as requirement
# files that pin every package with its hashes; --locked fails the build when uv.lock no longer
# matches pyproject.toml. pip then downloads exactly those wheels, checking every hash.
RUN python -m venv /opt/build \
 && python scripts/locked_uv.py uv.lock > /tmp/uv.txt \
 && /opt/build/bin/pip install --require-hashes --no-deps -r /tmp/uv.txt \
 && mkdir -p /wheels \
 && /opt/build/bin/uv export --locked --offline --no-dev --no-emit-project \
      --format requirements-txt --output-file /wheels/requirements.txt \
 && /opt/build/bin/uv export --locked --offline --only-group build --no-emit-project \
      --format requirements-txt --output-file /tmp/build.txt \
 && /opt/build/bin/pip install --require-hashes --no-deps -r /tmp/build.txt \
 && /opt/build/bin/pip download --require-hashes --no-deps --only-binary=:all: \
      --dest /wheels -r /wheels/requirements.txt
COPY operator/ operator/
# The project's wheel, built by the locked backend (no isolated build that would fetch another).
RUN /opt/build/bin/pip wheel --no-build-isolation --no-deps --wheel-dir /dist .

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HOME=/tmp
# Installed offline from the builder's wheels, which are bind-mounted: they never land in a layer.
# The locked dependencies with their hashes checked again, then the project's wheel alone; pip
# check fails the build if the lock does not satisfy the project's requirements.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,from=builder,source=/dist,target=/dist \
    pip install --no-index --find-links=/wheels --require-hashes --no-deps \
      -r /wheels/requirements.txt \
 && pip install --no-index --no-deps /dist/drs_pause_operator-*.whl \
 && pip check \
 && groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin nonroot
LABEL org.opencontainers.image.title="drs-pause-operator" \
      org.opencontainers.image.description="Pauses OTC / Huawei Cloud DRS tasks from Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0"
# kopf liveness (8080) and Prometheus metrics (9090).
EXPOSE 8080 9090
# Numeric, so that the kubelet can verify runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["drs-pause-operator"]
CMD ["run"]
