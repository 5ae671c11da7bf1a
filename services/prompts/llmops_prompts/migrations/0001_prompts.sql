CREATE TABLE prompts (
    name           text        PRIMARY KEY,
    description    text        NOT NULL DEFAULT '',
    tags           jsonb       NOT NULL DEFAULT '{}',
    latest_version bigint      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prompts_tags ON prompts USING gin (tags jsonb_path_ops);

CREATE TABLE prompt_versions (
    prompt_name    text        NOT NULL REFERENCES prompts (name),
    version        bigint      NOT NULL,
    body           jsonb       NOT NULL,  -- {"text": ...} or {"messages": [...]}, plus "variables"
    model_config   jsonb       NOT NULL DEFAULT '{}',
    commit_message text        NOT NULL DEFAULT '',
    author         text        NOT NULL,
    sha256         text        NOT NULL,
    request_id     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prompt_name, version)
);
CREATE UNIQUE INDEX prompt_versions_request ON prompt_versions (prompt_name, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE labels (
    prompt_name text        NOT NULL REFERENCES prompts (name),
    label       text        NOT NULL,
    version     bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL,
    PRIMARY KEY (prompt_name, label),
    FOREIGN KEY (prompt_name, version) REFERENCES prompt_versions (prompt_name, version)
);

CREATE TABLE audit_log (
    id             bigserial   PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    prompt_name    text        NOT NULL,
    version        bigint,
    label          text,
    reason         text        NOT NULL DEFAULT '',
    before         jsonb,
    after          jsonb,
    correlation_id text
);
CREATE INDEX audit_by_prompt ON audit_log (prompt_name, id);
