-- Runs: the spec, what its references resolved to, the job's plan (no credentials) and its state.
CREATE TABLE runs (
    run_id         uuid        PRIMARY KEY,
    name           text        NOT NULL DEFAULT '',
    status         text        NOT NULL,
    spec           jsonb       NOT NULL,
    config_hash    text        NOT NULL,
    created_by     text        NOT NULL,
    request_id     text,
    correlation_id text,
    sweep_id       uuid,
    resolved       jsonb       NOT NULL DEFAULT '{}',
    plan           jsonb       NOT NULL DEFAULT '{}',
    job_cursor     bigint      NOT NULL DEFAULT 0,
    submitted      boolean     NOT NULL DEFAULT false,
    cancel_sent    boolean     NOT NULL DEFAULT false,
    progress       jsonb       NOT NULL DEFAULT '{}',
    output_uri     text        NOT NULL DEFAULT '',
    output_ready   boolean     NOT NULL DEFAULT false,
    model_version  text        NOT NULL DEFAULT '',
    metrics        jsonb       NOT NULL DEFAULT '{}',
    error          jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    queued_at      timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE UNIQUE INDEX runs_request ON runs (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX runs_newest ON runs (created_at DESC, run_id DESC);
CREATE INDEX runs_active ON runs (created_at, run_id)
    WHERE status IN ('pending', 'queued', 'running', 'cancelling') AND sweep_id IS NULL;
CREATE INDEX runs_by_sweep ON runs (sweep_id) WHERE sweep_id IS NOT NULL;

-- Every update of a run, in order: the loss curve (kind 'progress') and the StreamProgress replay.
CREATE TABLE progress_points (
    run_id         uuid        NOT NULL REFERENCES runs (run_id),
    seq            bigint      NOT NULL,
    kind           text        NOT NULL,
    status         text        NOT NULL,
    step           bigint      NOT NULL DEFAULT 0,
    total_steps    bigint      NOT NULL DEFAULT 0,
    epoch          double precision NOT NULL DEFAULT 0,
    metrics        jsonb       NOT NULL DEFAULT '{}',
    message        text        NOT NULL DEFAULT '',
    checkpoint_uri text        NOT NULL DEFAULT '',
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE checkpoints (
    run_id     uuid        NOT NULL REFERENCES runs (run_id),
    step       bigint      NOT NULL,
    uri        text        NOT NULL,
    metrics    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step)
);

CREATE TABLE sweeps (
    sweep_id        uuid        PRIMARY KEY,
    name            text        NOT NULL DEFAULT '',
    status          text        NOT NULL,
    spec            jsonb       NOT NULL,
    config_hash     text        NOT NULL,
    created_by      text        NOT NULL,
    request_id      text,
    correlation_id  text,
    resolved        jsonb       NOT NULL DEFAULT '{}',
    plan            jsonb       NOT NULL DEFAULT '{}',
    job_cursor      bigint      NOT NULL DEFAULT 0,
    submitted       boolean     NOT NULL DEFAULT false,
    cancel_sent     boolean     NOT NULL DEFAULT false,
    best_run_id     text        NOT NULL DEFAULT '',
    best_metric     double precision NOT NULL DEFAULT 0,
    cheapest_run_id text        NOT NULL DEFAULT '',
    error           jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    queued_at       timestamptz,
    finished_at     timestamptz
);
CREATE UNIQUE INDEX sweeps_request ON sweeps (request_id) WHERE request_id IS NOT NULL;

CREATE TABLE trials (
    sweep_id          uuid        NOT NULL REFERENCES sweeps (sweep_id),
    idx               integer     NOT NULL,
    run_id            uuid        NOT NULL,
    status            text        NOT NULL,
    parameters        jsonb       NOT NULL DEFAULT '{}',
    objective         double precision,
    compute_seconds   double precision NOT NULL DEFAULT 0,
    tokens            bigint      NOT NULL DEFAULT 0,
    peak_memory_bytes bigint      NOT NULL DEFAULT 0,
    estimated_cost    double precision NOT NULL DEFAULT 0,
    stopped_early     boolean     NOT NULL DEFAULT false,
    steps             bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (sweep_id, idx)
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
