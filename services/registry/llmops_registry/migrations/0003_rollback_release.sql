-- Rollback restores the whole release the alias held before: its prompt version and parameters too.
ALTER TABLE aliases ADD COLUMN previous_prompt_version text NOT NULL DEFAULT '';
ALTER TABLE aliases ADD COLUMN previous_sampling_parameters jsonb NOT NULL DEFAULT '{}';
