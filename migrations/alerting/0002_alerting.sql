-- Alerting: rules as data, channels, alert state (cooldowns, dedup), alert history, deliveries with
-- every attempt, metric samples for windowed rules, and in-app notifications (the seed's table).

-- Notification channels. `config` holds only non-secret settings (addresses, URLs); credentials are
-- read from the secrets service at `secret_path`.
CREATE TABLE channels (
  id UUID PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  config JSONB NOT NULL DEFAULT '{}'::jsonb,
  secret_path TEXT,
  enabled BOOLEAN NOT NULL DEFAULT true,
  builtin BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE alert_rules (
  id UUID PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL CHECK (kind IN ('event', 'metric')),
  event_type TEXT NOT NULL,
  condition TEXT NOT NULL,
  entity TEXT,
  resolve_when TEXT,
  metric JSONB,
  severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
  channels TEXT[] NOT NULL,
  cooldown_minutes NUMERIC NOT NULL CHECK (cooldown_minutes >= 0),
  message_template TEXT NOT NULL,
  notify_resolved BOOLEAN NOT NULL DEFAULT true,
  enabled BOOLEAN NOT NULL DEFAULT true,
  builtin BOOLEAN NOT NULL DEFAULT false,
  revision INTEGER NOT NULL DEFAULT 1,
  created_by TEXT,
  updated_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alert_rules_event_type ON alert_rules (event_type) WHERE enabled;

-- Bumped in the same transaction as every rule or channel change: replicas reload their cache when it moves.
CREATE TABLE config_revision (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision BIGINT NOT NULL
);
INSERT INTO config_revision (id, revision) VALUES (1, 1);

-- Defaults seeded once each (a default an operator deleted is not recreated).
CREATE TABLE seeded_defaults (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  seeded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, name)
);

-- One row per rule and entity: the cooldown and the open incident. Every decision to notify locks
-- this row (SELECT ... FOR UPDATE), so two replicas can never both notify in one cooldown window.
CREATE TABLE alert_states (
  rule_id UUID NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
  entity TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  -- The condition holds now (stateful rules: metric rules and event rules with resolve_when).
  firing BOOLEAN NOT NULL DEFAULT false,
  -- The condition started holding inside a cooldown window: notify when the window ends if it still holds.
  pending BOOLEAN NOT NULL DEFAULT false,
  -- The notified trigger whose resolve has not been sent.
  open_alert_id UUID,
  last_notified_at TIMESTAMPTZ,
  cooldown_until TIMESTAMPTZ,
  suppressed INTEGER NOT NULL DEFAULT 0,
  last_value TEXT,
  last_context JSONB,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, entity)
);
CREATE INDEX alert_states_pending ON alert_states (cooldown_until) WHERE pending;

-- History: every notification decided (a trigger or a resolve).
CREATE TABLE alerts (
  id UUID PRIMARY KEY,
  rule_id UUID,
  rule_name TEXT NOT NULL,
  entity TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('trigger', 'resolve')),
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  context JSONB NOT NULL DEFAULT '{}'::jsonb,
  source TEXT NOT NULL,
  source_event_id TEXT,
  -- For a resolve: the trigger it resolves. For a trigger: when it was resolved.
  resolves_alert_id UUID,
  resolved_at TIMESTAMPTZ,
  suppressed_before INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alerts_created ON alerts (created_at DESC);
CREATE INDEX alerts_rule ON alerts (rule_id, created_at DESC);
-- A zero-cooldown rule notifies once per event: never twice for one event, whatever redelivers it.
CREATE UNIQUE INDEX alerts_once_per_event ON alerts (rule_id, source_event_id, action) WHERE source_event_id IS NOT NULL;

-- One delivery per alert and channel; claimed with a lease (FOR UPDATE SKIP LOCKED) by one replica at a time.
CREATE TABLE deliveries (
  id UUID PRIMARY KEY,
  alert_id UUID NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  channel_name TEXT NOT NULL,
  channel_type TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'retrying', 'succeeded', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_status_code INTEGER,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_until TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  delivered_at TIMESTAMPTZ,
  UNIQUE (alert_id, channel_name)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying', 'sending');
CREATE INDEX deliveries_created ON deliveries (created_at DESC);

CREATE TABLE delivery_attempts (
  id BIGSERIAL PRIMARY KEY,
  delivery_id UUID NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retry', 'failed')),
  status_code INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  attempted_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, attempt);

-- Metric rules' samples: one row per counted event (value NUMERIC, exact for money).
CREATE TABLE metric_samples (
  id BIGSERIAL PRIMARY KEY,
  rule_id UUID NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
  entity TEXT NOT NULL,
  value NUMERIC NOT NULL,
  at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX metric_samples_window ON metric_samples (rule_id, entity, at);
CREATE INDEX metric_samples_at ON metric_samples (at);

-- In-app notifications (seed 000, section 2.2), per user. user_id is the gateway's user id (no
-- cross-schema foreign key: each service owns its slice).
CREATE TABLE notifications (
  id UUID PRIMARY KEY,
  user_id TEXT NOT NULL,
  title VARCHAR(255) NOT NULL,
  message TEXT NOT NULL,
  type VARCHAR(50) NOT NULL CHECK (type IN ('info', 'warning', 'error', 'success')),
  is_read BOOLEAN NOT NULL DEFAULT false,
  read_at TIMESTAMPTZ,
  source TEXT,
  source_key TEXT UNIQUE,
  link TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE NOT is_read;
