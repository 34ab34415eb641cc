-- Platform Configuration (the seed's screen 3.1): LLM providers and the hosts an admin allowed as
-- provider base URLs although they are private, loopback or link-local. API keys live in the secrets
-- service (ai/platforms/<id>); only whether one is set and its last four characters are kept here.
CREATE TABLE IF NOT EXISTS provider_configs (
  id TEXT PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{0,39}$'),
  kind TEXT NOT NULL,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  base_url TEXT,
  default_model TEXT,
  enabled BOOLEAN NOT NULL DEFAULT true,
  priority INTEGER NOT NULL DEFAULT 100,
  options JSONB NOT NULL DEFAULT '{}'::jsonb,
  api_key_path TEXT,
  api_key_hint TEXT,
  api_key_version INTEGER,
  last_test_at TIMESTAMPTZ,
  last_test_ok BOOLEAN,
  last_test_error TEXT,
  created_by TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS allowed_hosts (
  -- Lowercase host name or IP address (IPv6 without brackets), exactly as in the base URL.
  host TEXT PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 253),
  note TEXT,
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
