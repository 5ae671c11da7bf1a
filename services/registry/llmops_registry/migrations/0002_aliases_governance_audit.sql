-- Search: tags by containment, versions by base model, run and creation time.
CREATE INDEX model_versions_tags ON model_versions USING gin (tags jsonb_path_ops);
CREATE INDEX model_versions_base ON model_versions (base_model_version) WHERE base_model_version IS NOT NULL;
CREATE INDEX model_versions_run ON model_versions ((lineage ->> 'training_run_id'));
CREATE INDEX model_versions_created ON model_versions (created_at, model_name, version);
CREATE INDEX registered_models_tags ON registered_models USING gin (tags jsonb_path_ops);

-- Aliases: a mutable pointer to one version; with a pinned prompt version and sampling parameters,
-- a release. previous_version is what rollback restores.
CREATE TABLE aliases (
    model_name          text        NOT NULL REFERENCES registered_models (name),
    alias               text        NOT NULL,
    version             bigint      NOT NULL,
    prompt_version      text        NOT NULL DEFAULT '',
    sampling_parameters jsonb       NOT NULL DEFAULT '{}',
    previous_version    bigint,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text        NOT NULL,
    PRIMARY KEY (model_name, alias),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
CREATE INDEX aliases_version ON aliases (model_name, version);

-- Governance: a policy per alias.
CREATE TABLE alias_policies (
    model_name         text        NOT NULL REFERENCES registered_models (name),
    alias              text        NOT NULL,
    protected          boolean     NOT NULL,
    gates              jsonb       NOT NULL DEFAULT '[]',
    required_approvals integer     NOT NULL CHECK (required_approvals >= 0),
    approver_role      text        NOT NULL,
    auto_request       boolean     NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    updated_by         text        NOT NULL,
    PRIMARY KEY (model_name, alias)
);

CREATE TABLE promotions (
    id                  uuid        PRIMARY KEY,
    model_name          text        NOT NULL,
    alias               text        NOT NULL,
    version             bigint      NOT NULL,
    prompt_version      text        NOT NULL DEFAULT '',
    sampling_parameters jsonb       NOT NULL DEFAULT '{}',
    status              text        NOT NULL,
    requested_by        text        NOT NULL,
    reason              text        NOT NULL DEFAULT '',
    gate_results        jsonb       NOT NULL DEFAULT '[]',
    required_approvals  integer     NOT NULL,
    previous_version    bigint,
    request_id          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
CREATE UNIQUE INDEX promotions_request ON promotions (model_name, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX promotions_by_alias ON promotions (model_name, alias, created_at);

CREATE TABLE promotion_decisions (
    promotion_id uuid        NOT NULL REFERENCES promotions (id),
    actor        text        NOT NULL,
    approved     boolean     NOT NULL,
    comment      text        NOT NULL DEFAULT '',
    decided_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (promotion_id, actor)
);

-- The audit log: append-only (a trigger refuses UPDATE and DELETE).
CREATE TABLE audit_log (
    id             bigserial   PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    model_name     text        NOT NULL,
    version        bigint,
    alias          text,
    reason         text        NOT NULL DEFAULT '',
    before         jsonb,
    after          jsonb,
    correlation_id text
);
CREATE INDEX audit_by_model ON audit_log (model_name, id);
CREATE INDEX audit_by_actor ON audit_log (actor, id);
CREATE INDEX audit_by_time ON audit_log (occurred_at, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
