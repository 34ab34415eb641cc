-- Reservations in batches: when requests arrive while others are being decided, the service sends
-- them together in one call of reserve_budgets (one round trip, one transaction), which decides them
-- in array order with the same outcome as one-at-a-time calls of reserve_budget (0002) in that order.
-- A request that comes alone still goes to reserve_budget, which is cheaper for one.
--
-- 1. One read without locks: the reservations already made for these request ids (idempotency), each
--    request's worst-case amount at the price in effect, the hard budgets that apply to it (its user's,
--    its team's, the global ones) and their counters for the current periods. A request that this read
--    already refuses is denied without locking or writing anything (as reserve_budget does).
-- 2. The counters of the other requests are locked in (scope, scope_id, period, period_start) order,
--    the order every writer of spend_counters locks them in (no deadlocks), and read again.
-- 3. The requests are decided in order against those values plus what the earlier requests of the
--    batch took: granted only if every applicable hard limit still holds.
-- 4. The granted reservations are inserted and their amounts added to their counters, in one statement.
-- Outcomes per request (idx = its position in the arrays, from 1): existing (the request id was
-- reserved before), granted, denied (a budget that refuses it, with the values it was refused on),
-- unpriced (unknown model while a hard limit applies; one such budget), missing_counters (the caller
-- creates this period's counter rows in their own transaction and asks again). The caller sends a
-- request id at most once per call.

CREATE FUNCTION reserve_budgets(
  p_request_ids TEXT[],
  p_user_ids TEXT[],
  p_team_ids TEXT[],
  p_providers TEXT[],
  p_models TEXT[],
  p_agents TEXT[],
  p_commands TEXT[],
  p_input_tokens BIGINT[],
  p_max_output_tokens BIGINT[],
  p_now TIMESTAMPTZ,
  p_ttl_seconds INTEGER,
  p_day DATE,
  p_week DATE,
  p_month DATE,
  p_synchronous_commit BOOLEAN
) RETURNS TABLE (
  idx INTEGER,
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
) LANGUAGE plpgsql
-- Planned once per connection: with custom plans every call would be planned again (the arrays make each
-- call look new), which costs more than running the statements. Every row it reads or writes is found
-- by key; no sequential scans, whatever the generic plans guess about the arrays' sizes.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
DECLARE
  n INTEGER := coalesce(cardinality(p_request_ids), 0);
  -- Arrays start NULL (no initializer to evaluate on every call); assigning an element creates them.
  -- Per request: state (existing, free, unpriced, pending, missing_counters, denied, plausible, grant,
  -- granted), amount, priced, reservation id and expiry, hard budgets that apply, and the slice
  -- [q_from, q_to] of the f_ arrays holding its counters in lock order.
  q_state TEXT[];
  q_amount NUMERIC[];
  q_priced BOOLEAN[];
  q_res UUID[];
  q_exp TIMESTAMPTZ[];
  q_nbud INTEGER[];
  q_from INTEGER[];
  q_to INTEGER[];
  -- Per request, when refused: the budget (denied: the first failing one in lock order; unpriced: one
  -- with a hard limit that applies) and the counter's values it was refused on.
  d_budget UUID[];
  d_scope TEXT[];
  d_scope_id TEXT[];
  d_period TEXT[];
  d_start DATE[];
  d_limit NUMERIC[];
  d_spent NUMERIC[];
  d_reserved NUMERIC[];
  -- (request, counter) pairs in request then lock order, as read without locks.
  f_cid BIGINT[];
  f_budget UUID[];
  f_scope TEXT[];
  f_scope_id TEXT[];
  f_period TEXT[];
  f_start DATE[];
  f_hard NUMERIC[];
  f_spent NUMERIC[];
  f_reserved NUMERIC[];
  -- Locked counters in lock order: their latest values and what the batch adds to them.
  l_cid BIGINT[];
  l_hard NUMERIC[];
  l_spent NUMERIC[];
  l_reserved NUMERIC[];
  l_add NUMERIC[];
  v_need BIGINT[];
  g_i INTEGER[];
  g_cid BIGINT[];
  v_ins_request TEXT[];
  v_ins_id UUID[];
  v_ins_exp TIMESTAMPTZ[];
  v_id UUID;
  v_amount NUMERIC;
  v_exp TIMESTAMPTZ;
  r RECORD;
  i INTEGER;
  k INTEGER := 0;
  p INTEGER;
  ok BOOLEAN;
BEGIN
  IF n = 0 THEN
    RETURN;
  END IF;
  -- RESERVATION_SYNCHRONOUS_COMMIT=off: the commit does not wait for the WAL flush, so the counter
  -- locks are held for microseconds, not a disk sync. Concurrency is unaffected (a commit is visible
  -- at once); only a Postgres crash can lose the holds granted in its last few hundred milliseconds.
  IF NOT p_synchronous_commit THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;

  -- 1. One read without locks, a row per request and counter, in request then lock order: the
  --    reservation already made for the request id, the price in effect, how many hard budgets apply
  --    (and one of them), and the current counters of those budgets. LATERAL subqueries kept apart by
  --    LIMIT / OFFSET 0: lookups by key, whatever the generic plan guesses about the arrays' sizes.
  FOR r IN
    SELECT q.i::INTEGER AS i, x.id AS xid, x.amount_usd AS xamount, x.expires_at AS xexp,
           pr.input_per_mtok_usd AS pin, pr.output_per_mtok_usd AS pout,
           hb.nbud, hb.id AS hbid, hb.scope AS hbscope, hb.scope_id AS hbscope_id, hb.period AS hbperiod,
           hb.hard_usd AS hbhard, bc.cid, bc.bid, bc.bscope, bc.bscope_id, bc.bperiod, bc.pstart, bc.hard, bc.spent,
           bc.reserved
      FROM unnest(p_request_ids, p_user_ids, p_team_ids, p_providers, p_models)
             WITH ORDINALITY AS q (request_id, user_id, team_id, provider, model, i)
      LEFT JOIN LATERAL (
        SELECT x.id, x.amount_usd, x.expires_at FROM reservations x WHERE x.request_id = q.request_id LIMIT 1) x ON true
      LEFT JOIN LATERAL (
        SELECT mp.input_per_mtok_usd, mp.output_per_mtok_usd
          FROM model_prices mp
         WHERE mp.provider = q.provider AND mp.model = q.model AND mp.effective_from <= p_now
         ORDER BY mp.effective_from DESC
         LIMIT 1) pr ON x.id IS NULL
      LEFT JOIN LATERAL (
        SELECT count(*) OVER ()::INTEGER AS nbud, b.id, b.scope, b.scope_id, b.period, b.hard_usd
          FROM budgets b
         WHERE b.hard_usd IS NOT NULL
           AND ((b.scope = 'user' AND b.scope_id = q.user_id)
             OR (b.scope = 'team' AND q.team_id <> '' AND b.scope_id = q.team_id)
             OR b.scope = 'global')
         ORDER BY b.scope DESC, b.period
         LIMIT 1) hb ON x.id IS NULL
      LEFT JOIN LATERAL (
        SELECT c.id AS cid, b.id AS bid, b.scope AS bscope, b.scope_id AS bscope_id, b.period AS bperiod,
               c.period_start AS pstart, b.hard_usd AS hard, c.spent_usd AS spent, c.reserved_usd AS reserved
          FROM (VALUES ('user'::TEXT, q.user_id), ('team'::TEXT, q.team_id), ('global'::TEXT, ''::TEXT))
                 AS s (scope, scope_id)
          CROSS JOIN LATERAL (
            SELECT b.id, b.scope, b.scope_id, b.period, b.hard_usd
              FROM budgets b
             WHERE b.scope = s.scope AND b.scope_id = s.scope_id AND b.hard_usd IS NOT NULL
            OFFSET 0) b
          CROSS JOIN LATERAL (
            SELECT c.id, c.period_start, c.spent_usd, c.reserved_usd
              FROM spend_counters c
             WHERE c.scope = b.scope AND c.scope_id = b.scope_id AND c.period = b.period
               AND c.period_start = CASE b.period WHEN 'day' THEN p_day WHEN 'week' THEN p_week ELSE p_month END
             LIMIT 1) c) bc ON pr.input_per_mtok_usd IS NOT NULL AND hb.nbud > 0
     ORDER BY q.i, bc.bscope, bc.bscope_id, bc.bperiod, bc.pstart
  LOOP
    i := r.i;
    IF i > coalesce(cardinality(q_state), 0) THEN -- the request's first row
      IF r.xid IS NOT NULL THEN
        q_state[i] := 'existing';
        q_priced[i] := false;
        q_amount[i] := r.xamount;
        q_res[i] := r.xid;
        q_exp[i] := r.xexp;
        CONTINUE;
      END IF;
      q_priced[i] := r.pin IS NOT NULL;
      q_amount[i] := CASE WHEN r.pin IS NULL THEN 0
                          ELSE round((p_input_tokens[i] * r.pin + p_max_output_tokens[i] * r.pout) / 1000000, 12) END;
      IF coalesce(r.nbud, 0) = 0 OR (q_priced[i] AND q_amount[i] = 0) THEN
        q_state[i] := 'free'; -- granted, held against no counter
      ELSIF NOT q_priced[i] THEN
        q_state[i] := 'unpriced';
        d_budget[i] := r.hbid;
        d_scope[i] := r.hbscope;
        d_scope_id[i] := r.hbscope_id;
        d_period[i] := r.hbperiod;
        d_limit[i] := r.hbhard;
      ELSE
        q_state[i] := 'pending';
        q_nbud[i] := r.nbud;
      END IF;
    END IF;
    IF q_state[i] = 'pending' AND r.cid IS NOT NULL THEN
      k := k + 1;
      f_cid[k] := r.cid;
      f_budget[k] := r.bid;
      f_scope[k] := r.bscope;
      f_scope_id[k] := r.bscope_id;
      f_period[k] := r.bperiod;
      f_start[k] := r.pstart;
      f_hard[k] := r.hard;
      f_spent[k] := r.spent;
      f_reserved[k] := r.reserved;
      IF q_from[i] IS NULL THEN
        q_from[i] := k;
      END IF;
      q_to[i] := k;
    END IF;
  END LOOP;

  -- 2. Missing counters, refusals on the unlocked read (nothing locked, nothing written for them),
  --    and the counters the other requests need.
  FOR i IN 1..n LOOP
    CONTINUE WHEN q_state[i] <> 'pending';
    IF q_from[i] IS NULL OR q_to[i] - q_from[i] + 1 < q_nbud[i] THEN
      q_state[i] := 'missing_counters';
      CONTINUE;
    END IF;
    q_state[i] := 'plausible';
    FOR k IN q_from[i]..q_to[i] LOOP
      IF f_spent[k] + f_reserved[k] + q_amount[i] > f_hard[k] THEN
        q_state[i] := 'denied';
        d_budget[i] := f_budget[k];
        d_scope[i] := f_scope[k];
        d_scope_id[i] := f_scope_id[k];
        d_period[i] := f_period[k];
        d_start[i] := f_start[k];
        d_limit[i] := f_hard[k];
        d_spent[i] := f_spent[k];
        d_reserved[i] := f_reserved[k];
        EXIT;
      END IF;
    END LOOP;
    IF q_state[i] = 'plausible' THEN
      v_need := v_need || f_cid[q_from[i]:q_to[i]];
    END IF;
  END LOOP;

  IF v_need IS NOT NULL THEN
    -- 3. Lock those counters in lock order and read them again (with the hard limit in effect now).
    FOR r IN
      SELECT c.id AS cid, b.hard_usd AS hard, c.spent_usd AS spent, c.reserved_usd AS reserved
        FROM spend_counters c
        LEFT JOIN LATERAL (
          SELECT b.hard_usd FROM budgets b
           WHERE b.scope = c.scope AND b.scope_id = c.scope_id AND b.period = c.period LIMIT 1) b ON true
       WHERE c.id = ANY (v_need)
       ORDER BY c.scope, c.scope_id, c.period, c.period_start
         FOR UPDATE OF c
    LOOP
      p := coalesce(cardinality(l_cid), 0) + 1;
      l_cid[p] := r.cid;
      l_hard[p] := r.hard;
      l_spent[p] := r.spent;
      l_reserved[p] := r.reserved;
      l_add[p] := 0;
    END LOOP;

    -- 4. Decide in order: every hard limit must hold with what the batch took before.
    FOR i IN 1..n LOOP
      CONTINUE WHEN q_state[i] <> 'plausible';
      ok := true;
      FOR k IN q_from[i]..q_to[i] LOOP
        p := array_position(l_cid, f_cid[k]);
        -- A budget removed (or its hard limit lifted) meanwhile no longer limits the request.
        CONTINUE WHEN l_hard[p] IS NULL;
        IF l_spent[p] + l_reserved[p] + l_add[p] + q_amount[i] > l_hard[p] THEN
          ok := false;
          d_budget[i] := f_budget[k];
          d_scope[i] := f_scope[k];
          d_scope_id[i] := f_scope_id[k];
          d_period[i] := f_period[k];
          d_start[i] := f_start[k];
          d_limit[i] := l_hard[p];
          d_spent[i] := l_spent[p];
          d_reserved[i] := l_reserved[p] + l_add[p];
          EXIT;
        END IF;
      END LOOP;
      IF NOT ok THEN
        q_state[i] := 'denied';
        CONTINUE;
      END IF;
      q_state[i] := 'grant';
      FOR k IN q_from[i]..q_to[i] LOOP
        p := array_position(l_cid, f_cid[k]);
        CONTINUE WHEN l_hard[p] IS NULL;
        l_add[p] := l_add[p] + q_amount[i];
        g_i := g_i || i;
        g_cid := g_cid || f_cid[k];
      END LOOP;
    END LOOP;
  END IF;

  -- 5. Insert the granted reservations and add what they hold to their counters, in one statement.
  --    A request id reserved by a concurrent call meanwhile is not inserted (and holds nothing here).
  WITH pairs AS (
    SELECT t.i, array_agg(t.cid ORDER BY t.o) AS cids
      FROM unnest(g_i, g_cid) WITH ORDINALITY AS t (i, cid, o)
     GROUP BY t.i
  ),
  ins AS (
    INSERT INTO reservations AS x (request_id, user_id, team_id, provider, model, agent_id, command, input_tokens,
                                   max_output_tokens, amount_usd, priced, counter_ids, created_at, expires_at)
    SELECT q.request_id, q.user_id, q.team_id, q.provider, q.model, q.agent, q.command, q.input_tokens,
           q.max_output_tokens, q.amount, q.priced, coalesce(pairs.cids, '{}'), p_now,
           p_now + make_interval(secs => p_ttl_seconds)
      FROM unnest(p_request_ids, p_user_ids, p_team_ids, p_providers, p_models, p_agents, p_commands, p_input_tokens,
                  p_max_output_tokens, q_amount, q_priced, q_state)
             WITH ORDINALITY AS q (request_id, user_id, team_id, provider, model, agent, command, input_tokens,
                                   max_output_tokens, amount, priced, state, i)
      LEFT JOIN pairs ON pairs.i = q.i
     WHERE q.state IN ('grant', 'free')
     ORDER BY q.i
    ON CONFLICT (request_id) DO NOTHING
    RETURNING x.request_id, x.id, x.expires_at, x.amount_usd, x.counter_ids
  ),
  held AS (
    UPDATE spend_counters s SET reserved_usd = s.reserved_usd + t.amount
      FROM (SELECT u.cid, sum(ins.amount_usd) AS amount
              FROM ins CROSS JOIN LATERAL unnest(ins.counter_ids) AS u (cid)
             GROUP BY u.cid) t
     WHERE s.id = t.cid
  )
  SELECT coalesce(array_agg(ins.request_id), '{}'), coalesce(array_agg(ins.id), '{}'),
         coalesce(array_agg(ins.expires_at), '{}')
    INTO v_ins_request, v_ins_id, v_ins_exp
    FROM ins;

  FOR i IN 1..n LOOP
    CONTINUE WHEN q_state[i] NOT IN ('grant', 'free');
    p := array_position(v_ins_request, p_request_ids[i]);
    IF p IS NOT NULL THEN
      q_state[i] := 'granted';
      q_res[i] := v_ins_id[p];
      q_exp[i] := v_ins_exp[p];
    ELSE
      SELECT x.id, x.amount_usd, x.expires_at INTO v_id, v_amount, v_exp
        FROM reservations x WHERE x.request_id = p_request_ids[i];
      q_state[i] := 'existing';
      q_res[i] := v_id;
      q_amount[i] := v_amount;
      q_exp[i] := v_exp;
    END IF;
  END LOOP;

  FOR i IN 1..n LOOP
    idx := i;
    outcome := q_state[i];
    reservation_id := q_res[i];
    amount_usd := CASE WHEN q_state[i] = 'unpriced' THEN NULL ELSE q_amount[i] END;
    expires_at := q_exp[i];
    budget_id := d_budget[i];
    scope := d_scope[i];
    scope_id := d_scope_id[i];
    period := d_period[i];
    period_start := d_start[i];
    limit_usd := d_limit[i];
    spent_usd := d_spent[i];
    reserved_usd := d_reserved[i];
    RETURN NEXT;
  END LOOP;
END
$$;
