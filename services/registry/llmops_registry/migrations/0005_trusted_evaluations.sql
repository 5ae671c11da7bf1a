-- Evaluation results record who attached them, whether gates count them (trusted: from the evaluation
-- service), and when the registry recorded them (its own clock: the order results are ranked in). The
-- submitter's completion time is kept as reported_at, for information only.
ALTER TABLE evaluation_results RENAME COLUMN completed_at TO reported_at;
ALTER TABLE evaluation_results ALTER COLUMN reported_at DROP NOT NULL;
ALTER TABLE evaluation_results
    ADD COLUMN attached_by text        NOT NULL DEFAULT '',
    ADD COLUMN trusted     boolean     NOT NULL DEFAULT false,
    ADD COLUMN recorded_at timestamptz;

-- Existing rows take who attached them and when from their audit row. A row is trusted only if it came
-- from the evaluation.run.completed consumer: that consumer claims the event in its inbox in the same
-- transaction as the audit row, so the two share one now(). Rows attached over the API, or with no
-- audit row, stay untrusted.
WITH by_event AS (
    SELECT DISTINCT handled_at FROM inbox WHERE consumer = 'registry-evaluation-results'
), attached AS (
    SELECT DISTINCT ON (a.model_name, a.version, a.after ->> 'evaluation_run_id')
           a.model_name, a.version, a.after ->> 'evaluation_run_id' AS run_id, a.actor, a.occurred_at,
           a.actor = 'evaluation-service' AND b.handled_at IS NOT NULL AS trusted
    FROM audit_log a LEFT JOIN by_event b ON b.handled_at = a.occurred_at
    WHERE a.action = 'evaluation.attached'
    ORDER BY a.model_name, a.version, a.after ->> 'evaluation_run_id', a.id
)
UPDATE evaluation_results e
SET attached_by = attached.actor, trusted = attached.trusted, recorded_at = attached.occurred_at
FROM attached
WHERE e.model_name = attached.model_name AND e.version = attached.version AND e.evaluation_run_id = attached.run_id;
-- No audit row: ranked no later than now, whatever date it claimed.
UPDATE evaluation_results SET recorded_at = LEAST(reported_at, now()) WHERE recorded_at IS NULL;
ALTER TABLE evaluation_results ALTER COLUMN recorded_at SET NOT NULL;
