-- The inference log: one partition per UTC day, created on demand by the store (add_inferences) and
-- dropped whole by retention. A partitioned table's unique keys must hold the partition key, so the
-- primary key is (created_at, inference_id) and ids are looked up through inferences_by_id.
CREATE TABLE inferences (
    inference_id      text             NOT NULL,
    model_version     text             NOT NULL,
    created_at        timestamptz      NOT NULL,
    release           text             NOT NULL DEFAULT '',
    deployment        text             NOT NULL DEFAULT '',
    api               text             NOT NULL DEFAULT '',
    key_id            text             NOT NULL DEFAULT '',
    end_user          text             NOT NULL DEFAULT '',
    session           text             NOT NULL DEFAULT '',
    prompt            text             NOT NULL DEFAULT '',
    output            text             NOT NULL DEFAULT '',
    prompt_tokens     integer          NOT NULL DEFAULT 0,
    completion_tokens integer          NOT NULL DEFAULT 0,
    latency_ms        double precision NOT NULL DEFAULT 0,
    ttft_ms           double precision NOT NULL DEFAULT 0,
    finish_reason     text             NOT NULL DEFAULT '',
    scores            jsonb            NOT NULL DEFAULT '{}',  -- detector -> score
    PRIMARY KEY (created_at, inference_id)
) PARTITION BY RANGE (created_at);
CREATE INDEX inferences_by_id ON inferences (inference_id);
CREATE INDEX inferences_by_model ON inferences (model_version, created_at DESC, inference_id DESC);
CREATE INDEX inferences_by_release ON inferences (release, created_at DESC, inference_id DESC) WHERE release <> '';
CREATE INDEX inferences_by_key ON inferences (key_id, created_at DESC, inference_id DESC) WHERE key_id <> '';
CREATE INDEX inferences_by_user ON inferences (end_user, created_at DESC, inference_id DESC) WHERE end_user <> '';
CREATE INDEX inferences_by_session ON inferences (session, created_at DESC, inference_id DESC) WHERE session <> '';

-- Feedback outlives the log rows it is about (no foreign key: retention drops whole partitions).
CREATE TABLE feedback (
    feedback_id   text             PRIMARY KEY,
    inference_id  text             NOT NULL,
    rating        text             NOT NULL DEFAULT '',
    score         double precision,
    categories    text[]           NOT NULL DEFAULT '{}',
    comment       text             NOT NULL DEFAULT '',
    correction    text             NOT NULL DEFAULT '',
    end_user      text             NOT NULL DEFAULT '',
    tags          jsonb            NOT NULL DEFAULT '{}',
    given_by      text             NOT NULL DEFAULT '',
    request_id    text,
    model_version text             NOT NULL DEFAULT '',
    created_at    timestamptz      NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX feedback_request ON feedback (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX feedback_oldest ON feedback (created_at, feedback_id);
CREATE INDEX feedback_by_model ON feedback (model_version, created_at, feedback_id);
CREATE INDEX feedback_by_giver ON feedback (given_by, created_at);
CREATE INDEX feedback_by_inference ON feedback (inference_id);

-- Alerts: at most one unresolved alert per dedup key (detector|model version|subject kind|subject), so
-- raise_alert is one race-safe INSERT ... ON CONFLICT that counts a repeat on the open alert.
CREATE TABLE alerts (
    alert_id        uuid             PRIMARY KEY,
    dedup_key       text             NOT NULL,
    detector        text             NOT NULL,
    kind            text             NOT NULL,
    severity        text             NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message         text             NOT NULL,
    statistic       text             NOT NULL,
    value           double precision NOT NULL,
    threshold       double precision NOT NULL,
    window_start    timestamptz      NOT NULL,
    window_end      timestamptz      NOT NULL,
    model_version   text             NOT NULL DEFAULT '',
    subject_kind    text             NOT NULL DEFAULT '',
    subject         text             NOT NULL DEFAULT '',
    examples        text[]           NOT NULL DEFAULT '{}',
    details         jsonb            NOT NULL DEFAULT '{}',
    status          text             NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    occurrences     integer          NOT NULL DEFAULT 1,
    raised_at       timestamptz      NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text             NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    resolved_by     text             NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_unresolved_dedup ON alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_newest ON alerts (raised_at DESC, alert_id DESC);
CREATE INDEX alerts_by_status ON alerts (status, raised_at DESC, alert_id DESC);
CREATE INDEX alerts_by_kind ON alerts (kind, raised_at DESC, alert_id DESC);
CREATE INDEX alerts_by_model ON alerts (model_version, raised_at DESC, alert_id DESC);

-- The block list serving enforces: one block per subject, ended with the alert that made it.
CREATE TABLE blocks (
    subject_kind text        NOT NULL,
    subject      text        NOT NULL,
    alert_id     text        NOT NULL,
    reason       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_kind, subject)
);
CREATE INDEX blocks_by_alert ON blocks (alert_id);

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
