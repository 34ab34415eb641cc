-- Workflow definitions, runs, steps, execution attempts, run events and durable timers.
-- All run state lives here: a restarted orchestrator resumes from these tables alone.

-- Immutable definition versions; a run references the version it started with.
CREATE TABLE IF NOT EXISTS workflow_definitions (
  id TEXT NOT NULL,
  version INT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  definition JSONB NOT NULL,
  content_hash TEXT NOT NULL,
  source TEXT NOT NULL,
  created_by TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS workflow_definitions_name ON workflow_definitions (lower(name));

-- One run of a workflow, or of a single command (kind 'task', one step, definition inline).
CREATE TABLE IF NOT EXISTS runs (
  id UUID PRIMARY KEY,
  seq BIGSERIAL NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  workflow_version INT NOT NULL,
  workflow_name TEXT NOT NULL,
  definition JSONB,
  user_id TEXT NOT NULL,
  team_id TEXT,
  task_id TEXT,
  priority SMALLINT NOT NULL DEFAULT 1,
  status TEXT NOT NULL,
  inputs JSONB NOT NULL,
  outputs JSONB,
  error TEXT,
  error_step TEXT,
  source TEXT NOT NULL,
  source_id TEXT NOT NULL,
  timeout_seconds INT,
  created_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  deadline_at TIMESTAMPTZ,
  cancelled_by TEXT,
  UNIQUE (source, source_id)
);
CREATE INDEX IF NOT EXISTS runs_queued ON runs (seq) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS runs_active ON runs (user_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS runs_user_recent ON runs (user_id, seq DESC);
CREATE INDEX IF NOT EXISTS runs_status_recent ON runs (status, seq DESC);

-- The steps of a run. An agent step waits in 'queued' for an agent slot, then holds one while 'running'.
CREATE TABLE IF NOT EXISTS steps (
  run_id UUID NOT NULL REFERENCES runs (id),
  step_id TEXT NOT NULL,
  position INT NOT NULL,
  kind TEXT NOT NULL,
  agent TEXT,
  command TEXT,
  user_id TEXT NOT NULL,
  priority SMALLINT NOT NULL DEFAULT 1,
  status TEXT NOT NULL,
  attempt INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL DEFAULT 1,
  attempt_timeout_seconds INT NOT NULL DEFAULT 600,
  inputs JSONB,
  output TEXT,
  sections JSONB,
  error_code TEXT,
  error_message TEXT,
  detail TEXT,
  queued_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  next_attempt_at TIMESTAMPTZ,
  escalated BOOLEAN NOT NULL DEFAULT false,
  decided_by TEXT,
  decision TEXT,
  decision_comment TEXT,
  execution_id TEXT,
  provider TEXT,
  model TEXT,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX IF NOT EXISTS steps_queued ON steps (agent, queued_at) WHERE status = 'queued';

-- Every execution request sent to the gateway. The idempotency key is executed at most once in effect.
-- holds_slot: the attempt counts against its agent's limit until its result arrives (or, when it was
-- abandoned by a timeout or a cancellation, until slot_release_at).
CREATE TABLE IF NOT EXISTS attempts (
  idempotency_key TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL,
  run_id UUID NOT NULL,
  step_id TEXT NOT NULL,
  attempt INT NOT NULL,
  agent TEXT NOT NULL,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  holds_slot BOOLEAN NOT NULL DEFAULT true,
  slot_release_at TIMESTAMPTZ,
  requested_at TIMESTAMPTZ NOT NULL,
  completed_at TIMESTAMPTZ,
  error_code TEXT,
  error_message TEXT,
  UNIQUE (run_id, step_id, attempt)
);
CREATE INDEX IF NOT EXISTS attempts_slots ON attempts (agent) WHERE holds_slot;

-- A run's lifecycle as its owner sees it (GET /v1/runs/:id/events replays these); each is also a
-- WorkflowEvent on Kafka, written to the outbox in the same transaction.
CREATE TABLE IF NOT EXISTS run_events (
  seq BIGSERIAL PRIMARY KEY,
  run_id UUID NOT NULL,
  kind TEXT NOT NULL,
  step_id TEXT,
  attempt INT,
  detail TEXT,
  data JSONB,
  at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS run_events_run ON run_events (run_id, seq);

-- Durable timers (retry backoff, attempt timeouts, approval timeouts, run timeouts), polled with
-- FOR UPDATE SKIP LOCKED by every replica. Stale timers are checked against the state and dropped.
CREATE TABLE IF NOT EXISTS timers (
  id BIGSERIAL PRIMARY KEY,
  run_id UUID NOT NULL,
  step_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  attempt INT NOT NULL DEFAULT 0,
  due_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at);
CREATE INDEX IF NOT EXISTS timers_run ON timers (run_id);
