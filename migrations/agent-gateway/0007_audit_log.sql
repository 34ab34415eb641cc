-- The audit log (the seed's audit_logs): who did what to which resource, when, from where. Rows of the
-- gateway's own changes, and rows imported from other services' AuditRecorded events (source_event_id).
CREATE TABLE IF NOT EXISTS audit_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Newest-first keyset pagination.
  seq BIGSERIAL NOT NULL UNIQUE,
  -- A user id, `service:<name>` or `system:<what>`.
  actor TEXT NOT NULL,
  action TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failure', 'error')),
  details JSONB NOT NULL DEFAULT '{}'::jsonb,
  ip_address TEXT,
  user_agent TEXT,
  source_service TEXT NOT NULL,
  source_event_id TEXT UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS audit_logs_actor ON audit_logs (actor, seq DESC);
CREATE INDEX IF NOT EXISTS audit_logs_resource ON audit_logs (resource_type, resource_id, seq DESC);
CREATE INDEX IF NOT EXISTS audit_logs_action ON audit_logs (action, seq DESC);
CREATE INDEX IF NOT EXISTS audit_logs_created ON audit_logs (created_at);
