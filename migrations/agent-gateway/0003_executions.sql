-- Every model call through the gateway: agent command executions (sync, async, from events) and
-- OpenAI-compatible chat completions and embeddings. The id is also the metering request id
-- (UsageRecorded.request_id, the budget reservation's requestId).
CREATE TABLE IF NOT EXISTS executions (
  id UUID PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('command', 'chat', 'embedding')),
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  -- ExecutionRequested.idempotency_key, or `user:<user id>:<Idempotency-Key header>`: run at most once in effect.
  idempotency_key TEXT,
  user_id TEXT NOT NULL,
  team_id TEXT,
  -- How the caller came: api_key, jwt, event, service, forwarded.
  via TEXT NOT NULL,
  agent TEXT,
  command TEXT,
  -- The template version that ran, and what the caller asked for (a label or a version number).
  template_version INTEGER,
  template_selector TEXT,
  run_id TEXT,
  step_id TEXT,
  attempt INTEGER,
  provider TEXT,
  model TEXT,
  offline BOOLEAN NOT NULL DEFAULT false,
  streamed BOOLEAN NOT NULL DEFAULT false,
  -- What a queued execution runs (inputs and options) until a worker picks it up.
  request JSONB,
  prompt TEXT,
  output TEXT,
  sections JSONB,
  knowledge_sources JSONB,
  input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens BIGINT NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  cached_input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
  -- The provider reported no usage (an interrupted stream): the counts were estimated from the text.
  usage_estimated BOOLEAN NOT NULL DEFAULT false,
  reservation_id TEXT,
  error_code TEXT,
  error_message TEXT,
  retryable BOOLEAN,
  duration_ms INTEGER,
  -- A running execution's worker holds it until then; after that another worker may take it over.
  lease_until TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  CHECK ((status IN ('succeeded', 'failed')) = (completed_at IS NOT NULL))
);

CREATE UNIQUE INDEX IF NOT EXISTS executions_idempotency_key ON executions (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_user_created ON executions (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS executions_pending ON executions (status, lease_until) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS executions_run ON executions (run_id) WHERE run_id IS NOT NULL;
