-- Pipeline definitions: every applied version, and each name's current version and next schedule.
CREATE TABLE pipelines (
    name            text        NOT NULL,
    version         bigint      NOT NULL,
    definition      jsonb       NOT NULL,
    definition_yaml text        NOT NULL,
    digest          text        NOT NULL,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

CREATE TABLE pipeline_heads (
    name              text        PRIMARY KEY,
    version           bigint      NOT NULL,
    datasets          text[]      NOT NULL DEFAULT '{}',  -- the trigger's datasets
    alerts            text[]      NOT NULL DEFAULT '{}',  -- the trigger's alert kinds
    model_name        text        NOT NULL,
    next_scheduled_at timestamptz,
    FOREIGN KEY (name, version) REFERENCES pipelines (name, version)
);
CREATE INDEX pipeline_heads_datasets ON pipeline_heads USING gin (datasets);
CREATE INDEX pipeline_heads_schedule ON pipeline_heads (next_scheduled_at) WHERE next_scheduled_at IS NOT NULL;

-- Runs: the whole state machine in one row; the driver takes rows whose due_at has come.
CREATE TABLE pipeline_runs (
    run_id           uuid        PRIMARY KEY,
    pipeline         text        NOT NULL,
    pipeline_version bigint      NOT NULL,
    definition       jsonb       NOT NULL,
    status           text        NOT NULL,
    trigger          text        NOT NULL,
    trigger_detail   text        NOT NULL DEFAULT '',
    inputs           jsonb       NOT NULL DEFAULT '{}',
    steps            jsonb       NOT NULL DEFAULT '[]',
    reproduces       text        NOT NULL DEFAULT '',
    comparison       jsonb       NOT NULL DEFAULT '[]',
    error            text        NOT NULL DEFAULT '',
    created_by       text        NOT NULL,
    request_id       text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    due_at           timestamptz,
    awaiting         text        NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX pipeline_runs_request ON pipeline_runs (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX pipeline_runs_newest ON pipeline_runs (created_at DESC, run_id DESC);
CREATE INDEX pipeline_runs_by_pipeline ON pipeline_runs (pipeline, created_at DESC, run_id DESC);
CREATE INDEX pipeline_runs_due ON pipeline_runs (due_at) WHERE status IN ('running', 'waiting_approval');
CREATE INDEX pipeline_runs_awaiting ON pipeline_runs (awaiting) WHERE awaiting <> '';

-- The newest version seen of each dataset (from llmops.ingestion.dataset.ingested).
CREATE TABLE dataset_heads (
    dataset_name text        PRIMARY KEY,
    version      text        NOT NULL,
    seen_at      timestamptz NOT NULL
);

CREATE TABLE audit_log (
    id             bigserial   PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    subject        text        NOT NULL,
    reason         text        NOT NULL DEFAULT '',
    detail         jsonb,
    correlation_id text
);
