-- Usage metering: model prices, usage records, daily aggregates, budgets, spend counters,
-- reservations, budget events, plans and subscriptions. Money is NUMERIC throughout (never float):
-- prices per million tokens with 6 decimals, so a token count times a price divided by 10^6 is exact
-- at 12 decimals.

-- Price per million tokens of one model, in USD, from `effective_from` until the next row of the same
-- provider and model. The price of a usage record is the row in effect at the record's time.
CREATE TABLE model_prices (
  id BIGSERIAL PRIMARY KEY,
  provider VARCHAR(50) NOT NULL,
  model VARCHAR(200) NOT NULL,
  input_per_mtok_usd NUMERIC(18, 6) NOT NULL CHECK (input_per_mtok_usd >= 0),
  output_per_mtok_usd NUMERIC(18, 6) NOT NULL CHECK (output_per_mtok_usd >= 0),
  -- NULL: cached input tokens cost the input price.
  cached_input_per_mtok_usd NUMERIC(18, 6) CHECK (cached_input_per_mtok_usd >= 0),
  effective_from TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_by TEXT,
  UNIQUE (provider, model, effective_from)
);

-- One provider call (the seed's api_usage, plus cached input tokens, team, command, workflow run,
-- template version and the reservation it settles). request_id is the idempotency key.
-- user_id and agent_id are the gateway's identifiers (text: they live in another service's slice).
-- cost is NULL when no price was known for the model at the record's time (priced = false).
CREATE TABLE api_usage (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id TEXT NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  provider VARCHAR(50) NOT NULL,
  model VARCHAR(200) NOT NULL,
  tokens_input BIGINT NOT NULL CHECK (tokens_input >= 0),
  tokens_output BIGINT NOT NULL CHECK (tokens_output >= 0),
  cost NUMERIC(24, 12),
  request_id TEXT NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  cached_input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0 AND cached_input_tokens <= tokens_input),
  team_id TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  run_id TEXT NOT NULL DEFAULT '',
  template_version TEXT NOT NULL DEFAULT '',
  reservation_id UUID,
  streamed BOOLEAN NOT NULL DEFAULT false,
  currency CHAR(3) NOT NULL DEFAULT 'USD',
  priced BOOLEAN NOT NULL,
  price_id BIGINT,
  -- When the call happened (the record's time), and its calendar day in BUDGET_TIME_ZONE.
  occurred_at TIMESTAMPTZ NOT NULL,
  usage_day DATE NOT NULL,
  event_id TEXT NOT NULL DEFAULT '',
  CHECK (priced = (cost IS NOT NULL))
);
CREATE INDEX api_usage_user_time ON api_usage (user_id, occurred_at);
CREATE INDEX api_usage_unpriced ON api_usage (provider, model) WHERE NOT priced;

-- Daily aggregates for the Token Management screen (day in BUDGET_TIME_ZONE).
CREATE TABLE usage_daily (
  day DATE NOT NULL,
  user_id TEXT NOT NULL,
  team_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  provider VARCHAR(50) NOT NULL,
  model VARCHAR(200) NOT NULL,
  command TEXT NOT NULL,
  requests BIGINT NOT NULL,
  tokens_input BIGINT NOT NULL,
  tokens_output BIGINT NOT NULL,
  cached_input_tokens BIGINT NOT NULL,
  cost NUMERIC(24, 12) NOT NULL,
  unpriced_requests BIGINT NOT NULL,
  PRIMARY KEY (day, user_id, team_id, agent_id, provider, model, command)
);

-- A soft (notify) and/or hard (stop) limit in USD for a user, a team or everyone (scope_id ''),
-- per day, week (from Monday) or month, in BUDGET_TIME_ZONE. source 'plan': copied from the
-- user's plan; an explicit budget for the same scope and period replaces it.
CREATE TABLE budgets (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  scope TEXT NOT NULL CHECK (scope IN ('user', 'team', 'global')),
  scope_id TEXT NOT NULL DEFAULT '',
  period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
  soft_usd NUMERIC(18, 6) CHECK (soft_usd >= 0),
  hard_usd NUMERIC(18, 6) CHECK (hard_usd >= 0),
  source TEXT NOT NULL DEFAULT 'explicit' CHECK (source IN ('explicit', 'plan')),
  plan_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_by TEXT,
  UNIQUE (scope, scope_id, period),
  CHECK (soft_usd IS NOT NULL OR hard_usd IS NOT NULL),
  CHECK (soft_usd IS NULL OR hard_usd IS NULL OR soft_usd <= hard_usd),
  CHECK ((scope = 'global') = (scope_id = ''))
);

-- Spend and outstanding reservations per scope and period, kept for every user, team and the whole
-- platform whether or not a budget exists (a budget set mid-period sees the period's spend).
-- Rows are always locked in (scope, scope_id, period, period_start) order: no deadlocks.
CREATE TABLE spend_counters (
  id BIGSERIAL PRIMARY KEY,
  scope TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  period TEXT NOT NULL,
  period_start DATE NOT NULL,
  spent_usd NUMERIC(24, 12) NOT NULL DEFAULT 0,
  reserved_usd NUMERIC(24, 12) NOT NULL DEFAULT 0,
  requests BIGINT NOT NULL DEFAULT 0,
  UNIQUE (scope, scope_id, period, period_start)
);

-- The worst-case cost of a call, held against every applicable hard limit (counter_ids) until the
-- usage record settles it, the gateway releases it, or it expires.
CREATE TABLE reservations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  request_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  team_id TEXT NOT NULL DEFAULT '',
  provider VARCHAR(50) NOT NULL,
  model VARCHAR(200) NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  command TEXT NOT NULL DEFAULT '',
  input_tokens BIGINT NOT NULL,
  max_output_tokens BIGINT NOT NULL,
  amount_usd NUMERIC(24, 12) NOT NULL,
  priced BOOLEAN NOT NULL,
  counter_ids BIGINT[] NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'settled', 'released', 'expired')),
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  closed_at TIMESTAMPTZ,
  actual_cost_usd NUMERIC(24, 12)
);
CREATE INDEX reservations_expiring ON reservations (expires_at) WHERE status = 'active';
CREATE INDEX reservations_closed ON reservations (closed_at) WHERE status <> 'active';

-- Soft and hard threshold crossings: at most one per budget (scope, scope id, period), period and threshold.
CREATE TABLE budget_events (
  scope TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  period TEXT NOT NULL,
  period_start DATE NOT NULL,
  threshold TEXT NOT NULL CHECK (threshold IN ('soft', 'hard')),
  budget_id UUID NOT NULL,
  spent_usd NUMERIC(24, 12) NOT NULL,
  limit_usd NUMERIC(18, 6) NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('spend', 'denied')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, scope_id, period, period_start, threshold)
);

-- Plans and their default budgets (copied into `budgets` for each active subscriber).
CREATE TABLE plans (
  id VARCHAR(50) PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE plan_budgets (
  plan_id VARCHAR(50) NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
  soft_usd NUMERIC(18, 6) CHECK (soft_usd >= 0),
  hard_usd NUMERIC(18, 6) CHECK (hard_usd >= 0),
  PRIMARY KEY (plan_id, period),
  CHECK (soft_usd IS NOT NULL OR hard_usd IS NOT NULL),
  CHECK (soft_usd IS NULL OR hard_usd IS NULL OR soft_usd <= hard_usd)
);

-- The seed's subscriptions table: one current subscription per user.
CREATE TABLE subscriptions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id TEXT NOT NULL UNIQUE,
  plan_id VARCHAR(50) NOT NULL REFERENCES plans (id),
  status VARCHAR(20) NOT NULL CHECK (status IN ('active', 'trialing', 'past_due', 'canceled')),
  current_period_start TIMESTAMPTZ,
  current_period_end TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_plan ON subscriptions (plan_id);

-- Grants a reservation only if every applicable hard limit still holds, in one round trip. The
-- applicable counters are locked in (scope, scope_id, period, period_start) order, so concurrent
-- callers serialise per counter and never deadlock; a grant and its counter updates commit together.
-- Outcomes: existing (same request_id seen before), granted, denied (details of the first failing
-- budget), unpriced (unknown model while a hard limit applies), missing_counters (the caller creates
-- this period's counter rows in their own transaction and calls again).
CREATE FUNCTION reserve_budget(
  p_request_id TEXT,
  p_user_id TEXT,
  p_team_id TEXT,
  p_provider TEXT,
  p_model TEXT,
  p_agent TEXT,
  p_command TEXT,
  p_input_tokens BIGINT,
  p_max_output_tokens BIGINT,
  p_now TIMESTAMPTZ,
  p_ttl_seconds INTEGER,
  p_day DATE,
  p_week DATE,
  p_month DATE,
  p_synchronous_commit BOOLEAN
) RETURNS TABLE (
  outcome TEXT,
  reservation_id UUID,
  amount_usd NUMERIC,
  expires_at TIMESTAMPTZ,
  budget_id UUID,
  scope TEXT,
  scope_id TEXT,
  period TEXT,
  period_start DATE,
  limit_usd NUMERIC,
  spent_usd NUMERIC,
  reserved_usd NUMERIC
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_res reservations%ROWTYPE;
  v_in NUMERIC;
  v_out NUMERIC;
  v_priced BOOLEAN;
  v_amount NUMERIC := 0;
  v_budgets INTEGER := 0;
  v_found INTEGER := 0;
  v_ids BIGINT[] := '{}';
  v_denied BOOLEAN := false;
  r RECORD;
  d RECORD;
BEGIN
  -- RESERVATION_SYNCHRONOUS_COMMIT=off: this transaction's commit does not wait for the WAL flush, so
  -- the counter locks are held for microseconds, not a disk sync. Concurrency is unaffected (a commit is
  -- visible at once); only a Postgres crash can lose the holds granted in its last few hundred ms.
  IF NOT p_synchronous_commit THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  SELECT * INTO v_res FROM reservations WHERE request_id = p_request_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'existing'::TEXT, v_res.id, v_res.amount_usd, v_res.expires_at,
      NULL::UUID, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::DATE, NULL::NUMERIC, NULL::NUMERIC, NULL::NUMERIC;
    RETURN;
  END IF;

  SELECT mp.input_per_mtok_usd, mp.output_per_mtok_usd INTO v_in, v_out
    FROM model_prices mp
   WHERE mp.provider = p_provider AND mp.model = p_model AND mp.effective_from <= p_now
   ORDER BY mp.effective_from DESC
   LIMIT 1;
  v_priced := FOUND;
  IF v_priced THEN
    v_amount := round((p_input_tokens * v_in + p_max_output_tokens * v_out) / 1000000, 12);
  END IF;

  IF NOT v_priced OR v_amount > 0 THEN
    SELECT count(*) INTO v_budgets
      FROM budgets b
     WHERE b.hard_usd IS NOT NULL
       AND ((b.scope = 'user' AND b.scope_id = p_user_id)
         OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
         OR b.scope = 'global');
  END IF;

  IF v_budgets > 0 AND NOT v_priced THEN
    RETURN QUERY SELECT 'unpriced'::TEXT, NULL::UUID, NULL::NUMERIC, NULL::TIMESTAMPTZ,
      b.id, b.scope, b.scope_id, b.period, NULL::DATE, b.hard_usd, NULL::NUMERIC, NULL::NUMERIC
      FROM budgets b
     WHERE b.hard_usd IS NOT NULL
       AND ((b.scope = 'user' AND b.scope_id = p_user_id)
         OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
         OR b.scope = 'global')
     ORDER BY b.scope DESC, b.period
     LIMIT 1;
    RETURN;
  END IF;

  IF v_budgets > 0 THEN
    -- First without locks: a refusal writes nothing, so it need not wait for (or hold) the counters.
    FOR r IN
      SELECT c.id AS cid, c.spent_usd AS spent, c.reserved_usd AS reserved, c.period_start AS pstart,
             b.id AS bid, b.scope AS bscope, b.scope_id AS bscope_id, b.period AS bperiod, b.hard_usd AS hard
        FROM budgets b
        JOIN spend_counters c
          ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period
         AND c.period_start = CASE b.period WHEN 'day' THEN p_day WHEN 'week' THEN p_week ELSE p_month END
       WHERE b.hard_usd IS NOT NULL
         AND ((b.scope = 'user' AND b.scope_id = p_user_id)
           OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
           OR b.scope = 'global')
       ORDER BY c.scope, c.scope_id, c.period, c.period_start
    LOOP
      v_found := v_found + 1;
      IF NOT v_denied AND r.spent + r.reserved + v_amount > r.hard THEN
        v_denied := true;
        d := r;
      END IF;
    END LOOP;
    IF v_found < v_budgets THEN
      RETURN QUERY SELECT 'missing_counters'::TEXT, NULL::UUID, v_amount, NULL::TIMESTAMPTZ,
        NULL::UUID, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::DATE, NULL::NUMERIC, NULL::NUMERIC, NULL::NUMERIC;
      RETURN;
    END IF;
    -- Then for real: lock the counters in canonical order and check again with the latest values.
    IF NOT v_denied THEN
      v_found := 0;
      FOR r IN
        SELECT c.id AS cid, c.spent_usd AS spent, c.reserved_usd AS reserved, c.period_start AS pstart,
               b.id AS bid, b.scope AS bscope, b.scope_id AS bscope_id, b.period AS bperiod, b.hard_usd AS hard
          FROM budgets b
          JOIN spend_counters c
            ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period
           AND c.period_start = CASE b.period WHEN 'day' THEN p_day WHEN 'week' THEN p_week ELSE p_month END
         WHERE b.hard_usd IS NOT NULL
           AND ((b.scope = 'user' AND b.scope_id = p_user_id)
             OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
             OR b.scope = 'global')
         ORDER BY c.scope, c.scope_id, c.period, c.period_start
           FOR UPDATE OF c
      LOOP
        v_found := v_found + 1;
        v_ids := v_ids || r.cid;
        IF NOT v_denied AND r.spent + r.reserved + v_amount > r.hard THEN
          v_denied := true;
          d := r;
        END IF;
      END LOOP;
    END IF;
    IF v_denied THEN
      RETURN QUERY SELECT 'denied'::TEXT, NULL::UUID, v_amount, NULL::TIMESTAMPTZ,
        d.bid, d.bscope, d.bscope_id, d.bperiod, d.pstart, d.hard, d.spent, d.reserved;
      RETURN;
    END IF;
  END IF;

  INSERT INTO reservations AS x (request_id, user_id, team_id, provider, model, agent_id, command, input_tokens,
                                 max_output_tokens, amount_usd, priced, counter_ids, created_at, expires_at)
  VALUES (p_request_id, p_user_id, p_team_id, p_provider, p_model, p_agent, p_command, p_input_tokens,
          p_max_output_tokens, v_amount, v_priced, v_ids, p_now, p_now + make_interval(secs => p_ttl_seconds))
  ON CONFLICT (request_id) DO NOTHING
  RETURNING * INTO v_res;
  IF NOT FOUND THEN
    SELECT * INTO v_res FROM reservations WHERE request_id = p_request_id;
    RETURN QUERY SELECT 'existing'::TEXT, v_res.id, v_res.amount_usd, v_res.expires_at,
      NULL::UUID, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::DATE, NULL::NUMERIC, NULL::NUMERIC, NULL::NUMERIC;
    RETURN;
  END IF;
  IF v_found > 0 THEN
    UPDATE spend_counters SET reserved_usd = reserved_usd + v_amount WHERE id = ANY (v_ids);
  END IF;
  RETURN QUERY SELECT 'granted'::TEXT, v_res.id, v_res.amount_usd, v_res.expires_at,
    NULL::UUID, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::DATE, NULL::NUMERIC, NULL::NUMERIC, NULL::NUMERIC;
END
$$;

-- Closes active reservations (released by the gateway or expired) and takes their amounts off the
-- counters they were held against, locking those counters in the canonical order. Returns the ids
-- it closed; a reservation that was not active (settled, released, expired) is left alone.
CREATE FUNCTION close_reservations(p_ids UUID[], p_status TEXT, p_now TIMESTAMPTZ)
RETURNS TABLE (id UUID, amount_usd NUMERIC) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_rids UUID[];
  v_ramts NUMERIC[];
  v_cids BIGINT[];
  v_amounts NUMERIC[];
BEGIN
  WITH closed AS (
    UPDATE reservations r SET status = p_status, closed_at = p_now
     WHERE r.id = ANY (p_ids) AND r.status = 'active'
    RETURNING r.id, r.amount_usd, r.counter_ids
  ),
  per_reservation AS (
    SELECT array_agg(c.id) AS ids, array_agg(c.amount_usd) AS amounts FROM closed c
  ),
  per_counter AS (
    SELECT array_agg(t.cid ORDER BY t.cid) AS cids, array_agg(t.amt ORDER BY t.cid) AS amounts
      FROM (SELECT u.cid, sum(c.amount_usd) AS amt
              FROM closed c, unnest(c.counter_ids) AS u (cid)
             GROUP BY u.cid) t
  )
  SELECT pr.ids, pr.amounts, pc.cids, pc.amounts INTO v_rids, v_ramts, v_cids, v_amounts
    FROM per_reservation pr, per_counter pc;
  IF v_cids IS NOT NULL THEN
    PERFORM 1 FROM spend_counters s WHERE s.id = ANY (v_cids)
      ORDER BY s.scope, s.scope_id, s.period, s.period_start FOR UPDATE;
    UPDATE spend_counters s SET reserved_usd = s.reserved_usd - t.amt
      FROM unnest(v_cids, v_amounts) AS t (cid, amt)
     WHERE s.id = t.cid;
  END IF;
  IF v_rids IS NOT NULL THEN
    RETURN QUERY SELECT t.id, t.amt FROM unnest(v_rids, v_ramts) AS t (id, amt);
  END IF;
END
$$;
