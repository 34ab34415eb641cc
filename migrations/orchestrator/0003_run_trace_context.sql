-- The W3C trace context a run was created in (the consumer span of its TaskRequested event, or the span of the
-- API request that started it). Every event the run causes later (execution requests, workflow events) is
-- published in a child span of it, by whichever replica, also after a restart. NULL: created without a trace.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS traceparent TEXT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS tracestate TEXT;
