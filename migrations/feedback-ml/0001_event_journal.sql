-- Events this service consumed (plumbing proof until its domain tables land).
CREATE TABLE IF NOT EXISTS event_journal (
  event_id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  key TEXT NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
