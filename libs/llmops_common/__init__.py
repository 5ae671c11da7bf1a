"""What every LLMOps service shares: settings, events, bus, outbox/inbox, database, object storage,
gRPC plumbing, auth, telemetry and test fixtures. Imported only; no entry points live here."""
