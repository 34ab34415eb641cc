-- The agent roster and the command library (seeded from seeds/ by the gateway at boot), with
-- immutable template versions and movable labels (`production` runs by default; rollback moves it).

CREATE TABLE IF NOT EXISTS agents (
  slug TEXT PRIMARY KEY CHECK (slug ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
  name TEXT NOT NULL,
  category TEXT NOT NULL CHECK (category IN ('engineering', 'management', 'business')),
  system_prompt TEXT NOT NULL,
  capabilities JSONB NOT NULL DEFAULT '[]'::jsonb,
  default_provider TEXT NOT NULL,
  default_model TEXT NOT NULL,
  max_concurrent_tasks INTEGER NOT NULL CHECK (max_concurrent_tasks >= 1),
  enabled BOOLEAN NOT NULL DEFAULT true,
  -- 'seed': the seeder keeps it in step with seeds/agents; 'admin': an admin changed it, the seeder leaves it alone.
  source TEXT NOT NULL CHECK (source IN ('seed', 'admin')),
  -- sha256 of the seed file's fields as last applied (so an unchanged seed changes nothing, not even updated_at).
  seed_hash TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS command_templates (
  agent TEXT NOT NULL REFERENCES agents (slug),
  name TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9]*(_[a-z0-9]+)*$'),
  category TEXT NOT NULL CHECK (category IN ('dev', 'ops', 'biz')),
  description TEXT NOT NULL,
  difficulty INTEGER NOT NULL CHECK (difficulty BETWEEN 1 AND 5),
  -- The schemas of the version labelled `production` (kept in step when that label moves). JSON, not
  -- JSONB: the order of output_schema.properties is the order of the answer's sections.
  input_schema JSON NOT NULL,
  output_schema JSON NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT true,
  source TEXT NOT NULL CHECK (source IN ('seed', 'admin')),
  -- sha256 of the seed's metadata (category, description, difficulty) as last applied.
  seed_hash TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (agent, name)
);

-- Every edit is a new row; rows are never updated or deleted (executions record the version they ran).
CREATE TABLE IF NOT EXISTS template_versions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  template TEXT NOT NULL CHECK (length(template) > 0),
  -- JSON keeps key order (output sections are ordered); JSONB would sort the keys.
  input_schema JSON NOT NULL,
  output_schema JSON NOT NULL,
  -- sha256 of the canonical JSON of (template, input_schema, output_schema).
  content_hash TEXT NOT NULL,
  created_by TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('seed', 'admin', 'suggestion')),
  note TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (agent, command, version),
  FOREIGN KEY (agent, command) REFERENCES command_templates (agent, name)
);

CREATE OR REPLACE FUNCTION template_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'template versions are immutable: create a new version instead of changing version %', OLD.version
    USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$;

DROP TRIGGER IF EXISTS template_versions_no_update ON template_versions;
CREATE TRIGGER template_versions_no_update BEFORE UPDATE OR DELETE ON template_versions
  FOR EACH ROW EXECUTE FUNCTION template_versions_immutable();

-- Which version a label selects. `latest` and `seed` are kept by the system; `production`, `draft`
-- and custom labels are moved by admins (`draft` also by feedback-ml's suggestions).
CREATE TABLE IF NOT EXISTS template_labels (
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  label TEXT NOT NULL CHECK (label ~ '^[a-z][a-z0-9_-]{0,39}$'),
  version INTEGER NOT NULL,
  -- Who put the label on this version: a user id, `service:<name>`, or `system:seed` (the seeder).
  updated_by TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (agent, command, label),
  FOREIGN KEY (agent, command, version) REFERENCES template_versions (agent, command, version)
);

-- Every label move (rollbacks included), for the admin console's history.
CREATE TABLE IF NOT EXISTS template_label_history (
  id BIGSERIAL PRIMARY KEY,
  agent TEXT NOT NULL,
  command TEXT NOT NULL,
  label TEXT NOT NULL,
  from_version INTEGER,
  to_version INTEGER NOT NULL,
  moved_by TEXT NOT NULL,
  moved_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS template_label_history_command ON template_label_history (agent, command, id);
CREATE INDEX IF NOT EXISTS command_templates_category ON command_templates (category);
