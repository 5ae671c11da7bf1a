CREATE TABLE datasets (
    name        text        PRIMARY KEY,
    description text        NOT NULL DEFAULT '',
    tags        jsonb       NOT NULL DEFAULT '{}',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Content-addressed: (dataset, version) where version hashes the prepared records and the config.
CREATE TABLE dataset_versions (
    dataset_name     text        NOT NULL REFERENCES datasets (name),
    version          text        NOT NULL,
    seq              bigserial   NOT NULL,  -- creation order, for "newest first" and "latest"
    uri              text        NOT NULL,
    manifest_uri     text        NOT NULL,
    shape            text        NOT NULL,
    record_count     bigint      NOT NULL,
    split_counts     jsonb       NOT NULL,
    preparation      jsonb       NOT NULL,
    config_hash      text        NOT NULL,
    source           jsonb       NOT NULL,  -- lineage back: URI, format, files with size and sha256
    steps            jsonb       NOT NULL,
    profile_uri      text        NOT NULL,
    profile_html_uri text        NOT NULL,
    job_id           uuid        NOT NULL,
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_name, version)
);
CREATE UNIQUE INDEX dataset_versions_seq ON dataset_versions (dataset_name, seq DESC);

-- Lineage forward: whatever later names a version (a training or evaluation run request).
CREATE TABLE dataset_usages (
    event_id     uuid        PRIMARY KEY,
    dataset_name text        NOT NULL,
    version      text        NOT NULL,
    used_by      text        NOT NULL,  -- event type, e.g. llmops.training.run.requested
    reference    text        NOT NULL DEFAULT '',
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (dataset_name, version) REFERENCES dataset_versions (dataset_name, version)
);
CREATE INDEX dataset_usages_version ON dataset_usages (dataset_name, version);

CREATE TABLE uploads (
    upload_id    uuid        PRIMARY KEY,
    dataset_name text        NOT NULL,
    filename     text        NOT NULL,
    uri          text        NOT NULL,
    size_bytes   bigint      NOT NULL,
    sha256       text        NOT NULL,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The job queue: a job is claimed with FOR UPDATE SKIP LOCKED; a running job whose heartbeat is
-- stale (its worker died) is claimed again.
CREATE TABLE ingestion_jobs (
    job_id          uuid        PRIMARY KEY,
    dataset_name    text        NOT NULL,
    request_id      text,
    status          text        NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
    request         jsonb       NOT NULL,  -- source, shape, column mapping, preparation
    progress        jsonb       NOT NULL DEFAULT '{}',
    version         text,
    reused_existing boolean     NOT NULL DEFAULT false,
    error           jsonb,
    attempts        int         NOT NULL DEFAULT 0,
    correlation_id  text,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    heartbeat_at    timestamptz,
    finished_at     timestamptz
);
CREATE UNIQUE INDEX ingestion_jobs_request ON ingestion_jobs (dataset_name, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX ingestion_jobs_queue ON ingestion_jobs (created_at) WHERE status IN ('pending', 'running');

CREATE TABLE audit_log (
    id             bigserial   PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    dataset_name   text        NOT NULL,
    version        text,
    detail         jsonb,
    correlation_id text
);
