-- The defaults high_cost, unknown_model_priced and dlq_receiving_messages move to the events that carry
-- what they need: usage-metering's UsagePriced (hishamos.usage.priced.v1: the record's cost, priced or
-- not, the day's spend) and the bus's DeadLettered (hishamos.messaging.dead-lettered.v1). Their first
-- versions watched UsageRecorded fields no producer sends, and internal signals only, so they could not
-- fire. Only rows still exactly as first seeded change (revision 1, updated by the seed, same
-- definition); an operator's edited or deleted default stays as it is. Fresh installs get the new
-- versions from the seed (src/domain/default-rules.ts), which this file must match.

UPDATE alert_rules SET
  description = 'The platform''s AI spend for a day (usage-metering''s usage_day) went above $100. Once per day: the entity is the day, and the 2-day cooldown outlasts it, so late records of a day already paged do not page again; the next day is a new entity.',
  kind = 'event',
  event_type = 'usage_priced',
  condition = 'global_spend_day_usd > 100',
  entity = 'usage_day',
  resolve_when = NULL,
  metric = NULL,
  severity = 'warning',
  channels = ARRAY['email']::text[],
  cooldown_minutes = 2880,
  message_template = '💰 High cost alert: ${global_spend_day_usd:.2f} spent on {usage_day}',
  revision = revision + 1,
  updated_by = 'seed:0003',
  updated_at = now()
WHERE name = 'high_cost' AND builtin AND revision = 1 AND updated_by = 'seed'
  AND kind = 'metric' AND event_type = 'usage' AND condition = 'exists(cost_usd)' AND entity IS NULL
  AND metric = '{"aggregate":"sum","value":"cost_usd","window":"today","comparator":">","threshold":"100","as":"cost_today"}'::jsonb
  AND message_template = '💰 High cost alert: ${cost_today:.2f} today';

UPDATE alert_rules SET
  description = 'usage-metering recorded usage of a model it has no price for: its cost counts as $0 until a price is added. Once per provider/model per hour.',
  kind = 'event',
  event_type = 'usage_priced',
  condition = 'priced == false',
  entity = 'provider + "/" + model',
  resolve_when = NULL,
  metric = NULL,
  severity = 'warning',
  channels = ARRAY['slack']::text[],
  cooldown_minutes = 60,
  message_template = '❓ Unpriced model {provider}/{model} ({unpriced_reason}): its usage counts as $0 until a price is added',
  revision = revision + 1,
  updated_by = 'seed:0003',
  updated_at = now()
WHERE name = 'unknown_model_priced' AND builtin AND revision = 1 AND updated_by = 'seed'
  AND kind = 'event' AND event_type = 'usage' AND condition = 'unpriced == true'
  AND entity = 'provider + "/" + model' AND metric IS NULL
  AND message_template = '❓ Usage of unpriced model {provider}/{model}: its cost is not counted until a price is added';

UPDATE alert_rules SET
  description = 'A consumer moved a record to its dead-letter topic. Once per topic and service per 15 minutes: the records dead-lettered meanwhile are counted (suppressedBefore on the next alert), not sent.',
  kind = 'event',
  event_type = 'dlq',
  condition = 'true',
  entity = 'topic + " (" + service + ")"',
  resolve_when = NULL,
  metric = NULL,
  severity = 'error',
  channels = ARRAY['slack']::text[],
  cooldown_minutes = 15,
  message_template = '📬 DLQ receiving messages: {service} moved a record from {topic} to {dlq_topic}: {reason}',
  revision = revision + 1,
  updated_by = 'seed:0003',
  updated_at = now()
WHERE name = 'dlq_receiving_messages' AND builtin AND revision = 1 AND updated_by = 'seed'
  AND kind = 'metric' AND event_type = 'dlq' AND condition = 'true' AND entity = 'topic'
  AND metric = '{"aggregate":"sum","value":"count","window":"5m","comparator":">","threshold":0,"as":"dlq_messages"}'::jsonb
  AND message_template = '📬 {dlq_messages:d} message(s) from {entity} went to its DLQ in the last {window}';

-- The old metric versions' state does not carry over: their open alerts (a metric alert that was firing)
-- are closed in the history, and their cooldowns and samples go (the entities differ: a day, a topic and
-- service).
UPDATE alerts SET resolved_at = now()
WHERE resolved_at IS NULL AND action = 'trigger'
  AND id IN (SELECT s.open_alert_id FROM alert_states s JOIN alert_rules r ON r.id = s.rule_id
             WHERE r.updated_by = 'seed:0003' AND s.open_alert_id IS NOT NULL);
DELETE FROM alert_states WHERE rule_id IN (SELECT id FROM alert_rules WHERE updated_by = 'seed:0003');
DELETE FROM metric_samples WHERE rule_id IN (SELECT id FROM alert_rules WHERE updated_by = 'seed:0003');

-- Running replicas reload their rules.
UPDATE config_revision SET revision = revision + 1 WHERE id = 1;
