#!/bin/sh
# One-shot: wait for MinIO, then create the platform's buckets (idempotent: existing ones are kept).
# Needs: MINIO_ROOT_USER, MINIO_ROOT_PASSWORD; optional: MINIO_ENDPOINT, MINIO_BUCKETS, MINIO_WAIT_SECONDS.
set -eu

: "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set}"
: "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
endpoint="${MINIO_ENDPOINT:-http://minio:9000}"
buckets="${MINIO_BUCKETS:-llmops-datasets llmops-models llmops-artifacts}"
wait_seconds="${MINIO_WAIT_SECONDS:-120}"

waited=0
until mc alias set llmops "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1 \
    && mc ls llmops >/dev/null 2>&1; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "minio-init: MinIO at $endpoint not ready after ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

for bucket in $buckets; do
  mc mb --ignore-existing "llmops/$bucket"
done
echo "minio-init: buckets ready: $buckets"
