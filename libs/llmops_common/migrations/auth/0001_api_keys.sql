-- API keys: only a SHA-256 of the secret is stored; the key id is public and indexed.
CREATE TABLE api_keys (
    key_id      text        PRIMARY KEY,
    secret_hash bytea       NOT NULL,
    name        text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('viewer', 'developer', 'approver', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL,
    revoked_at  timestamptz
);
