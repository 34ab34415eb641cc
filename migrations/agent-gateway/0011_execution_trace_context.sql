-- The W3C trace context (traceparent, tracestate) a queued execution was accepted in: the
-- ExecutionRequested consumer's span or the HTTP request's. The worker that runs it, here or on
-- another replica after a restart, continues that trace, so ExecutionCompleted and UsageRecorded
-- carry the requester's trace id.
ALTER TABLE executions ADD COLUMN IF NOT EXISTS trace_context JSONB;
