# syntax=docker/dockerfile:1
# One image recipe for every platform service. Pick the service with build args, e.g.
#   docker build --build-arg SERVICE=registry --build-arg EXTRAS=registry -t llmops/registry .
# SERVICE names the console script the container runs (llmops-${SERVICE}, see [project.scripts]);
# EXTRAS names the pyproject extras it installs (comma separated: EXTRAS=training,evaluation).
# Every image also carries the `llmops` command line (the migrate job runs `llmops migrate`).
ARG PYTHON_IMAGE=python:3.11-slim

# -- build: install the project and its dependencies into a virtual environment -----------------
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=registry
# Extra package index, e.g. https://download.pytorch.org/whl/cpu for CPU-only torch (see below).
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# README* may be absent: an empty wildcard match is allowed.
COPY pyproject.toml constraints.txt README* ./
COPY libs ./libs
COPY services ./services
# Torch-using extras (training, serving): PyPI's default torch wheel for Linux x86_64 is the CUDA
# build (several GB with its nvidia-* wheels); that is what GPU workers want. For a CPU-only image
# pass --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu.
# Ray's version comes from constraints.txt (its one pin); compose's Ray head and workers run this same
# training image (EXTRAS=training), so the service and the cluster cannot drift apart.
RUN pip install --upgrade pip \
 && pip install -c constraints.txt ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} ".[${EXTRAS}]"

# -- runtime: the virtual environment only, run as an unprivileged user --------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=registry
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/app
RUN groupadd --system --gid 10001 llmops \
 && useradd --system --uid 10001 --gid llmops --home-dir /app --shell /usr/sbin/nologin llmops \
 && mkdir -p /app && chown llmops:llmops /app
COPY --from=build /opt/venv /opt/venv
# Fail the build on an unknown SERVICE; `llmops-service` is the service's console script.
RUN test -x "/opt/venv/bin/llmops-${SERVICE}" \
    || { echo "no console script llmops-${SERVICE} (see [project.scripts])" >&2; exit 1; } \
 && ln -s "/opt/venv/bin/llmops-${SERVICE}" /usr/local/bin/llmops-service
WORKDIR /app
USER llmops:llmops
# CMD, not ENTRYPOINT: compose's `command:` (llmops-registry, llmops migrate) replaces it whole.
CMD ["llmops-service"]
