-- Deployments, as the serving replicas report them (llmops.serving.deployment.updated): every switch,
-- keyed by its event id, and per (deployment, replica) the switch it serves now. loaded_at is when the
-- replica switched: a switch delivered late never replaces one loaded after it.
CREATE TABLE deployment_switches (
    event_id         uuid        PRIMARY KEY,
    deployment       text        NOT NULL,
    replica          text        NOT NULL,
    model_name       text        NOT NULL,
    version          bigint      NOT NULL,
    alias            text        NOT NULL DEFAULT '',
    previous_version bigint,
    prompt_version   text        NOT NULL DEFAULT '',
    loaded_at        timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
CREATE INDEX deployment_switches_by_version ON deployment_switches (model_name, version, deployment, replica,
                                                                    loaded_at DESC);

CREATE TABLE deployments (
    deployment text        NOT NULL,
    replica    text        NOT NULL,
    event_id   uuid        NOT NULL REFERENCES deployment_switches (event_id),
    model_name text        NOT NULL,
    version    bigint      NOT NULL,
    loaded_at  timestamptz NOT NULL,
    PRIMARY KEY (deployment, replica),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
