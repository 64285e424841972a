# syntax=docker/dockerfile:1
# drs-pause-operator image: the wheel is built in one stage and installed, with its dependencies
# from wheels built there too, into a slim runtime that has no compiler and no build tools.
#   docker build -t drs-pause-operator:0.1.0 .
# PYTHON_IMAGE: any Debian-based image with Python 3.11, pip and useradd. Without a registry,
# `make node` builds one from Debian's python3 and builds this file with buildah against it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the build needs (see .dockerignore): metadata first, then the sources.
COPY pyproject.toml README.md ./
COPY operator/ operator/
# The project's wheel, then wheels of every runtime dependency next to it.
RUN pip wheel --no-deps --wheel-dir /dist . \
 && pip wheel --wheel-dir /wheels /dist/drs_pause_operator-*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
# Installed offline from the builder's wheels, which are bind-mounted: they never land in a layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels drs-pause-operator \
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
