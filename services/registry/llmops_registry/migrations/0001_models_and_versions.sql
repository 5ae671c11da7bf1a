CREATE TABLE registered_models (
    name           text        PRIMARY KEY,
    description    text        NOT NULL DEFAULT '',
    tags           jsonb       NOT NULL DEFAULT '{}',
    latest_version bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
    model_name         text        NOT NULL REFERENCES registered_models (name),
    version            bigint      NOT NULL,
    artifact_uri       text        NOT NULL,
    kind               text        NOT NULL CHECK (kind IN ('base', 'adapter', 'merged')),
    base_model_version text,
    format             text        NOT NULL DEFAULT '',
    size_bytes         bigint      NOT NULL,
    sha256             text        NOT NULL,
    tags               jsonb       NOT NULL DEFAULT '{}',
    lineage            jsonb       NOT NULL DEFAULT '{}',
    request_id         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    created_by         text        NOT NULL,
    PRIMARY KEY (model_name, version)
);
CREATE UNIQUE INDEX model_versions_request ON model_versions (model_name, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE evaluation_results (
    model_name        text        NOT NULL,
    version           bigint      NOT NULL,
    evaluation_run_id text        NOT NULL,
    metrics           jsonb       NOT NULL,
    report_uri        text,
    completed_at      timestamptz NOT NULL,
    PRIMARY KEY (model_name, version, evaluation_run_id),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
