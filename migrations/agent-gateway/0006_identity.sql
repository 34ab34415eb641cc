-- Identity and access: users (roles, team, per-agent toggles), API keys (stored as keyed hashes),
-- and the gateway's own generated keys (the API key pepper when API_KEY_PEPPER is not set).

CREATE TABLE IF NOT EXISTS users (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- scrypt$N$r$p$<salt b64>$<hash b64>; NULL: no console password (API keys or an identity provider only).
  password_hash TEXT,
  roles TEXT[] NOT NULL CHECK (
    cardinality(roles) >= 1 AND roles <@ ARRAY['admin', 'operator', 'member', 'viewer']::TEXT[]
  ),
  team_id TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
  -- What an agent without a toggle of its own means for this user: 'all' (may use it) or 'none'.
  default_agent_access TEXT NOT NULL CHECK (default_agent_access IN ('all', 'none')),
  -- Set for people who sign in through an external identity provider (RS256 tokens via JWKS).
  external_issuer TEXT,
  external_subject TEXT,
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);

-- A deleted user's address may be used again.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_live ON users (lower(email)) WHERE status <> 'deleted';
CREATE UNIQUE INDEX IF NOT EXISTS users_external ON users (external_issuer, external_subject)
  WHERE external_subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_team ON users (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS users_created ON users (created_at, id);

-- Per-user agent toggles ("can use the legal agent?"); no row: the user's default_agent_access.
CREATE TABLE IF NOT EXISTS user_agent_access (
  user_id UUID NOT NULL REFERENCES users (id),
  agent TEXT NOT NULL,
  allowed BOOLEAN NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, agent)
);

CREATE TABLE IF NOT EXISTS api_keys (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users (id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  -- The visible part of hos_<prefix>_<secret>; how a presented key is found.
  prefix TEXT NOT NULL UNIQUE CHECK (prefix ~ '^[a-z0-9]{8}$'),
  -- HMAC-SHA256(pepper, whole key): the key itself is never stored.
  key_hash BYTEA NOT NULL,
  hash_scheme TEXT NOT NULL DEFAULT 'hmac-sha256-v1',
  scopes TEXT[] NOT NULL CHECK (cardinality(scopes) >= 1),
  expires_at TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ,
  revoked_by TEXT,
  last_used_at TIMESTAMPTZ,
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id, created_at DESC);

-- Values the gateway generates once and keeps (e.g. the API key pepper when none is configured).
CREATE TABLE IF NOT EXISTS identity_state (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
