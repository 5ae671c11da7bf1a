-- Tags of versions as rows, keyed (key, value, model, version): a search by tag is one index range
-- scan already in the result order, so its cost does not grow with the rows that sort ahead of it.
CREATE TABLE model_version_tags (
    key        text   NOT NULL,
    value      text   NOT NULL,
    model_name text   NOT NULL,
    version    bigint NOT NULL,
    PRIMARY KEY (key, value, model_name, version),
    FOREIGN KEY (model_name, version) REFERENCES model_versions (model_name, version)
);
INSERT INTO model_version_tags (key, value, model_name, version)
SELECT t.key, t.value, v.model_name, v.version FROM model_versions v, jsonb_each_text(v.tags) AS t;
