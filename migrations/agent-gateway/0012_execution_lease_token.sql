-- The claim a running execution's worker holds (a random token per claim): a worker that had to wait
-- (the database was away) renews its lease only when the execution is still its own, so an execution
-- another worker took over after the lease ran out never reaches the provider twice.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS lease_token TEXT;
