-- Budget leases: a gateway holds a slice of a user's budget and grants its calls from it locally, so
-- a model call does not wait for a reservation round trip to usage-metering.
--
-- A lease is a reservation (kind 'lease') of an amount in USD rather than of one call's worst case,
-- granted by grant_lease only if every applicable hard limit (the user's, their team's, the global
-- ones, per day / week / month) holds with it, atomically, like a call's reservation. It is settled by
-- many usage records (each carries the lease's id): consumed_usd grows by each record's cost and the
-- hold on the counters shrinks by the same amount until nothing is left. What a lease holds:
--   greatest(amount_usd - consumed_usd, 0)
-- The gateway gives a lease back with close_lease(used), its count of what the calls it granted from
-- the lease cost (calls still running at their worst case): the amount shrinks to
-- greatest(consumed, least(amount, used)), so the hold keeps covering usage records still on their way,
-- and the lease stays active until it expires so those records settle against it. An unused lease of
-- a crashed gateway frees its hold when it expires (the sweeper, close_reservations).

ALTER TABLE reservations ADD COLUMN kind TEXT NOT NULL DEFAULT 'call' CHECK (kind IN ('call', 'lease'));
ALTER TABLE reservations ADD COLUMN consumed_usd NUMERIC(24, 12) NOT NULL DEFAULT 0;

-- Grants a lease of p_want, or of less when the headroom is small: at most 1/p_user_share of the user's
-- own budgets' headroom (hard limit - spent - reserved; a few gateway replicas may each hold one) and
-- 1/p_share of a team's or the platform's (shared by many users), the smallest of these. Less than
-- p_min: 'denied' (the gateway reserves per call instead, which is exact near a limit). No hard budget applies: the lease
-- is granted in full and held against nothing. Outcomes: existing (p_request_id was granted before),
-- granted, denied, missing_counters (the caller creates this period's counter rows and asks again).
CREATE FUNCTION grant_lease(
  p_request_id TEXT,
  p_user_id TEXT,
  p_team_id TEXT,
  p_want NUMERIC,
  p_min NUMERIC,
  p_share INTEGER,
  p_user_share INTEGER,
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
  headroom_usd NUMERIC
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_res reservations%ROWTYPE;
  v_nbud INTEGER;
  v_ncounters INTEGER;
  v_cids BIGINT[];
  v_headroom NUMERIC;
  v_amount NUMERIC;
BEGIN
  IF NOT p_synchronous_commit THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  SELECT * INTO v_res FROM reservations x WHERE x.request_id = p_request_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'existing'::TEXT, v_res.id, v_res.amount_usd, v_res.expires_at, NULL::NUMERIC;
    RETURN;
  END IF;

  -- The hard budgets that apply and their counters for the current periods.
  SELECT count(*)::INTEGER INTO v_nbud
    FROM budgets b
   WHERE b.hard_usd IS NOT NULL
     AND ((b.scope = 'user' AND b.scope_id = p_user_id)
       OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
       OR b.scope = 'global');
  IF v_nbud > 0 THEN
    SELECT array_agg(c.id ORDER BY c.scope, c.scope_id, c.period, c.period_start), count(*)::INTEGER
      INTO v_cids, v_ncounters
      FROM budgets b
      JOIN spend_counters c
        ON c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period
       AND c.period_start = CASE b.period WHEN 'day' THEN p_day WHEN 'week' THEN p_week ELSE p_month END
     WHERE b.hard_usd IS NOT NULL
       AND ((b.scope = 'user' AND b.scope_id = p_user_id)
         OR (b.scope = 'team' AND p_team_id <> '' AND b.scope_id = p_team_id)
         OR b.scope = 'global');
    IF coalesce(v_ncounters, 0) < v_nbud THEN
      RETURN QUERY SELECT 'missing_counters'::TEXT, NULL::UUID, NULL::NUMERIC, NULL::TIMESTAMPTZ, NULL::NUMERIC;
      RETURN;
    END IF;
    -- Lock them in the canonical order (as every writer of spend_counters does) and read the headroom.
    PERFORM 1 FROM spend_counters c WHERE c.id = ANY (v_cids)
      ORDER BY c.scope, c.scope_id, c.period, c.period_start FOR UPDATE;
    SELECT min(b.hard_usd - c.spent_usd - c.reserved_usd),
           min(greatest(b.hard_usd - c.spent_usd - c.reserved_usd, 0)
               / greatest(CASE b.scope WHEN 'user' THEN p_user_share ELSE p_share END, 1))
      INTO v_headroom, v_amount
      FROM spend_counters c
      JOIN budgets b ON b.scope = c.scope AND b.scope_id = c.scope_id AND b.period = c.period
     WHERE c.id = ANY (v_cids) AND b.hard_usd IS NOT NULL;
    v_amount := round(least(p_want, v_amount), 12);
    IF v_amount < p_min OR v_amount <= 0 THEN
      RETURN QUERY SELECT 'denied'::TEXT, NULL::UUID, NULL::NUMERIC, NULL::TIMESTAMPTZ, v_headroom;
      RETURN;
    END IF;
  ELSE
    v_cids := '{}';
    v_amount := p_want;
  END IF;

  INSERT INTO reservations AS x (request_id, user_id, team_id, provider, model, input_tokens, max_output_tokens,
                                 amount_usd, priced, counter_ids, created_at, expires_at, kind)
  VALUES (p_request_id, p_user_id, p_team_id, '', '', 0, 0, v_amount, true, v_cids, p_now,
          p_now + make_interval(secs => p_ttl_seconds), 'lease')
  RETURNING * INTO v_res;
  IF cardinality(v_cids) > 0 THEN
    UPDATE spend_counters SET reserved_usd = reserved_usd + v_amount WHERE id = ANY (v_cids);
  END IF;
  RETURN QUERY SELECT 'granted'::TEXT, v_res.id, v_res.amount_usd, v_res.expires_at, v_headroom;
END
$$;

-- The gateway gives a lease back: p_used is what the calls it granted from the lease cost (calls still
-- running at their worst case). The amount shrinks to greatest(consumed, least(amount, p_used)) and
-- the difference stops counting on the counters at once. Never grows; may be called again with less.
-- Returns the lease's amount and consumed after it (no row: no such active lease).
CREATE FUNCTION close_lease(p_id UUID, p_used NUMERIC, p_synchronous_commit BOOLEAN)
RETURNS TABLE (amount_usd NUMERIC, consumed_usd NUMERIC, released_usd NUMERIC) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_res reservations%ROWTYPE;
  v_new NUMERIC;
  v_release NUMERIC;
BEGIN
  IF NOT p_synchronous_commit THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  -- The lease row first, then its counters: the order ingestion's settlement and close_reservations
  -- lock them in.
  SELECT * INTO v_res FROM reservations x WHERE x.id = p_id AND x.kind = 'lease' AND x.status = 'active' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM 1 FROM spend_counters c WHERE c.id = ANY (v_res.counter_ids)
    ORDER BY c.scope, c.scope_id, c.period, c.period_start FOR UPDATE;
  v_new := greatest(v_res.consumed_usd, least(v_res.amount_usd, greatest(p_used, 0)));
  v_release := greatest(v_res.amount_usd - v_res.consumed_usd, 0) - greatest(v_new - v_res.consumed_usd, 0);
  UPDATE reservations x SET amount_usd = v_new WHERE x.id = p_id;
  IF v_release > 0 AND cardinality(v_res.counter_ids) > 0 THEN
    UPDATE spend_counters s SET reserved_usd = s.reserved_usd - v_release WHERE s.id = ANY (v_res.counter_ids);
  END IF;
  RETURN QUERY SELECT v_new, v_res.consumed_usd, v_release;
END
$$;

-- As in 0002, but a lease frees what it still holds (amount - consumed), not its whole amount.
CREATE OR REPLACE FUNCTION close_reservations(p_ids UUID[], p_status TEXT, p_now TIMESTAMPTZ)
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
    RETURNING r.id, CASE r.kind WHEN 'lease' THEN greatest(r.amount_usd - r.consumed_usd, 0) ELSE r.amount_usd END
                      AS amount_usd, r.counter_ids
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
