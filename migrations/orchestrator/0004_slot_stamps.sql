-- Agent slots, stamped as the limits count them (all stamps from the database clock, see the scheduler):
-- deadline_at: the deadline the attempt's execution request carries (the gateway starts nothing after it); an
--   abandoned attempt keeps its slot at least until then, plus the grace period.
-- slot_released_at: when the attempt stopped counting against its agent's limit (its result committed, or its
--   lease ended); NULL while it holds the slot.
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS deadline_at TIMESTAMPTZ;
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS slot_released_at TIMESTAMPTZ;
