-- The service role: the platform's own services (e.g. the evaluation service), whose reports are trusted.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('viewer', 'developer', 'service', 'approver', 'admin'));
