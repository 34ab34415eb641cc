-- The secrets service's slice: the local encrypted store (KV v2-like versions), the key-ring
-- canaries that make a wrong ENCRYPTION_KEY fail at boot, rotation grace records and the audit log.
-- Secret values are only ever stored here encrypted (AES-256-GCM, path + version as associated data).

-- One row per secret path: its KV v2 metadata.
CREATE TABLE secrets (
  path TEXT PRIMARY KEY,
  current_version INTEGER NOT NULL DEFAULT 0,
  oldest_version INTEGER NOT NULL DEFAULT 0,
  -- Custom metadata (owner, rotated_at, platform, ...): never secret values.
  custom_metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per kept version. A destroyed version keeps its row (like KV v2) without its ciphertext.
CREATE TABLE secret_versions (
  path TEXT NOT NULL REFERENCES secrets (path) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  -- The key ring id of the master key that encrypted this value (NULL once destroyed).
  key_id TEXT,
  nonce BYTEA,
  ciphertext BYTEA,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ,
  destroyed BOOLEAN NOT NULL DEFAULT false,
  PRIMARY KEY (path, version),
  CHECK (destroyed OR (key_id IS NOT NULL AND nonce IS NOT NULL AND ciphertext IS NOT NULL))
);
-- Finds values still under an older master key (re-encryption, boot checks).
CREATE INDEX secret_versions_key_id ON secret_versions (key_id) WHERE key_id IS NOT NULL;

-- A known plaintext encrypted under each master key: a wrong ENCRYPTION_KEY cannot decrypt it.
CREATE TABLE keyring_canaries (
  key_id TEXT PRIMARY KEY,
  nonce BYTEA NOT NULL,
  ciphertext BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A rotation keeps the previous version readable until grace_until; then it is soft-deleted.
CREATE TABLE rotations (
  id TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  previous_version INTEGER NOT NULL,
  version INTEGER NOT NULL,
  rotated_by TEXT NOT NULL,
  rotated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  grace_until TIMESTAMPTZ NOT NULL,
  expired_at TIMESTAMPTZ
);
CREATE INDEX rotations_path_previous ON rotations (path, previous_version);
CREATE INDEX rotations_pending ON rotations (grace_until) WHERE expired_at IS NULL;

-- Every read, write, rotation, deletion and denied attempt: who, which path and version, what, how it ended.
CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- The calling service's name, or user:<id> for a person forwarded by the gateway.
  caller TEXT NOT NULL,
  caller_kind TEXT NOT NULL,
  path TEXT NOT NULL,
  version INTEGER,
  action TEXT NOT NULL,
  -- success | denied | error
  outcome TEXT NOT NULL,
  -- The error code when outcome is error or denied (not_found, cas_mismatch, forbidden_path, ...).
  reason TEXT,
  backend TEXT NOT NULL,
  details JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_path_at ON audit_log (path, at);
CREATE INDEX audit_log_caller_at ON audit_log (caller, at);
