-- Execution results as feedback-ml sees them (from ExecutionCompleted): what is scored, rated and learned from.
CREATE TABLE IF NOT EXISTS executions (
  execution_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL DEFAULT '',
  team_id TEXT NOT NULL DEFAULT '',
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  template_version TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  offline BOOLEAN NOT NULL DEFAULT false,
  prompt_length INTEGER NOT NULL DEFAULT 0,
  output TEXT NOT NULL DEFAULT '',
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  duration_ms BIGINT NOT NULL DEFAULT 0,
  completed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS executions_agent_command ON executions (agent, command, completed_at DESC);

-- One score per execution: the five weighted dimensions (0-1), the total (0-10) and the model used.
CREATE TABLE IF NOT EXISTS quality_scores (
  execution_id TEXT PRIMARY KEY REFERENCES executions (execution_id),
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  total NUMERIC(5, 2) NOT NULL CHECK (total >= 0 AND total <= 10),
  completeness NUMERIC(5, 4) NOT NULL,
  clarity NUMERIC(5, 4) NOT NULL,
  correctness NUMERIC(5, 4) NOT NULL,
  depth NUMERIC(5, 4) NOT NULL,
  formatting NUMERIC(5, 4) NOT NULL,
  model_version TEXT NOT NULL,
  features JSONB NOT NULL,
  scored_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quality_scores_agent_command ON quality_scores (agent, command);

-- The seed's task_feedback: one rating per user per execution (a second one updates it).
CREATE TABLE IF NOT EXISTS feedback (
  id UUID PRIMARY KEY,
  execution_id TEXT NOT NULL REFERENCES executions (execution_id),
  user_id TEXT NOT NULL,
  rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
  text TEXT NOT NULL DEFAULT '',
  issues JSONB NOT NULL DEFAULT '[]',
  source TEXT NOT NULL DEFAULT 'api',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (execution_id, user_id)
);
CREATE INDEX IF NOT EXISTS feedback_updated ON feedback (updated_at);

-- Trained quality models: a version becomes active only when it beats the active one on the same hold-out.
CREATE TABLE IF NOT EXISTS model_versions (
  version SERIAL PRIMARY KEY,
  algorithm TEXT NOT NULL,
  features JSONB NOT NULL,
  training_size INTEGER NOT NULL,
  holdout_size INTEGER NOT NULL,
  mae NUMERIC(8, 4) NOT NULL,
  baseline_mae NUMERIC(8, 4) NOT NULL,
  active_mae_on_holdout NUMERIC(8, 4),
  promoted BOOLEAN NOT NULL,
  active BOOLEAN NOT NULL DEFAULT false,
  reason TEXT NOT NULL,
  model JSONB NOT NULL,
  trained_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS model_versions_one_active ON model_versions (active) WHERE active;

-- Template optimiser output: suggestions an admin may turn into a draft template version.
CREATE TABLE IF NOT EXISTS template_suggestions (
  id UUID PRIMARY KEY,
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  executions INTEGER NOT NULL,
  high_count INTEGER NOT NULL,
  low_count INTEGER NOT NULL,
  suggestions JSONB NOT NULL,
  proposed_template TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'drafted', 'dismissed')),
  draft_version INTEGER,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS template_suggestions_open ON template_suggestions (agent, command) WHERE status = 'open';

-- One replica trains at a time: a lease row (pool-safe, unlike a session advisory lock).
CREATE TABLE IF NOT EXISTS ml_training_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT,
  until TIMESTAMPTZ NOT NULL DEFAULT 'epoch'
);
INSERT INTO ml_training_lease (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
