-- Evaluation runs: the spec as asked, what its models resolved to, and the state a leased worker moves.
CREATE TABLE runs (
    run_id           uuid        PRIMARY KEY,
    status           text        NOT NULL,
    spec             jsonb       NOT NULL,
    model_version    text        NOT NULL,  -- the spec's candidate as written (the list filter)
    dataset_version  text        NOT NULL,
    created_by       text        NOT NULL,
    request_id       text,
    correlation_id   text,
    resolved_models  jsonb       NOT NULL DEFAULT '{}',  -- role -> models:/name/N
    progress         jsonb       NOT NULL DEFAULT '{}',
    metrics          jsonb       NOT NULL DEFAULT '{}',
    report_uri       text        NOT NULL DEFAULT '',
    html_report_uri  text        NOT NULL DEFAULT '',
    error            jsonb,
    attempts         integer     NOT NULL DEFAULT 0,
    lease_owner      text        NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz
);
CREATE UNIQUE INDEX runs_request ON runs (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX runs_newest ON runs (created_at DESC, run_id DESC);
CREATE INDEX runs_by_model ON runs (model_version, created_at DESC, run_id DESC);
CREATE INDEX runs_by_candidate ON runs ((resolved_models->>'candidate'), created_at DESC, run_id DESC);
CREATE INDEX runs_by_dataset ON runs (dataset_version, created_at DESC, run_id DESC);
-- claim_run (oldest first) and exhausted_runs look only at unfinished runs.
CREATE INDEX runs_unfinished ON runs (created_at, run_id) WHERE status IN ('pending', 'running');

-- Blind A/B reviews drawn from a completed run; items keep their order.
CREATE TABLE reviews (
    review_id     uuid        PRIMARY KEY,
    run_id        uuid        NOT NULL REFERENCES runs (run_id),
    baseline_role text        NOT NULL,
    seed          bigint      NOT NULL,
    uri           text        NOT NULL DEFAULT '',
    created_by    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_by_run ON reviews (run_id);

CREATE TABLE review_items (
    review_id      uuid    NOT NULL REFERENCES reviews (review_id),
    position       integer NOT NULL,
    item_id        text    NOT NULL,
    record_id      text    NOT NULL,
    input          text    NOT NULL,
    reference      text    NOT NULL,
    output_a       text    NOT NULL,
    output_b       text    NOT NULL,
    candidate_side text    NOT NULL CHECK (candidate_side IN ('a', 'b')),
    PRIMARY KEY (review_id, position),
    UNIQUE (review_id, item_id)
);

-- A rater's current verdict on an item: a later one replaces it.
CREATE TABLE verdicts (
    review_id  uuid        NOT NULL,
    item_id    text        NOT NULL,
    rater      text        NOT NULL,
    choice     text        NOT NULL CHECK (choice IN ('a', 'b', 'tie')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (review_id, item_id, rater),
    FOREIGN KEY (review_id, item_id) REFERENCES review_items (review_id, item_id)
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
