import { join } from 'node:path';
import { Database, migrate, migrationFiles, provisionServiceRole } from '@hishamos/persistence';
import { requirePostgresDatabase } from '@hishamos/testing';
import { periodStarts } from '../src';
import { toPico } from '../src/domain/money';
import {
  ReservationRepository,
  type ReserveBatchParams,
  type ReserveRequest,
  type ReserveResult,
} from '../src/repositories/reservation.repository';
import { SpendRepository } from '../src/repositories/spend.repository';
import { REPO } from './fixtures/metering-fixture';

jest.setTimeout(120000);

const NOW = new Date('2025-03-15T12:00:00Z');
const PARAMS: ReserveBatchParams = {
  now: NOW,
  ttlSeconds: 600,
  starts: periodStarts('2025-03-15'),
  synchronousCommit: false,
};
const TEAM: Record<string, string> = { u0: 't1', u1: 't1', u2: 't1', u3: 't1', u4: 't1' };

/** The same budgets, spend, counters and earlier reservations in a fresh usage-metering schema. */
async function seeded(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const pg = await requirePostgresDatabase('meter_rb');
  const db = await Database.open({
    kind: 'postgres',
    schema: 'usage_metering',
    url: await provisionServiceRole(pg.url, 'usage_metering', 'metering-pw'),
  });
  await migrate(db, migrationFiles(join(REPO, 'migrations'), 'usage-metering'));
  await db.query(
    `INSERT INTO budgets (scope, scope_id, period, soft_usd, hard_usd) VALUES
       ('user', 'u0', 'day', NULL, 0.05), ('user', 'u1', 'day', NULL, 0.10), ('user', 'u2', 'day', 0.01, 0.20),
       ('user', 'u3', 'day', NULL, 0.08), ('user', 'u4', 'day', NULL, 0.30), ('user', 'u5', 'day', NULL, 0.06),
       ('user', 'u6', 'week', NULL, 0.12), ('user', 'u7', 'week', NULL, 0.09), ('user', 'u9', 'day', NULL, 1),
       ('user', 'u10', 'day', 0.50, NULL),
       ('team', 't1', 'month', NULL, 0.45), ('global', '', 'day', NULL, 0.90)`,
  );
  const spend = new SpendRepository();
  // Every user's counters but u9's (its requests find them missing).
  for (const u of ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u10'])
    await spend.ensureCounters(db, u, TEAM[u] ?? '', PARAMS.starts);
  await db.query(
    `UPDATE spend_counters SET spent_usd = CASE scope_id WHEN 'u1' THEN 0.04 WHEN 'u5' THEN 0.055 WHEN 't1' THEN 0.10 ELSE 0 END
      WHERE scope_id IN ('u1', 'u5', 't1')`,
  );
  await db.query(`UPDATE spend_counters SET spent_usd = 0.20 WHERE scope = 'global'`);
  const repo = new ReservationRepository();
  for (const [requestId, userId] of [
    ['pre-1', 'u0'],
    ['pre-2', 'u4'],
  ])
    await repo.reserveMany(db, [request(requestId, userId, 1000, 1000)], PARAMS);
  return { db, drop: async () => (await db.close(), await pg.drop()) };
}

function request(requestId: string, userId: string, input: number, output: number, model = 'gpt-4o'): ReserveRequest {
  const provider = model === 'mystery' ? 'acme' : model === 'offline' ? 'offline' : 'openai';
  return {
    requestId,
    userId,
    teamId: TEAM[userId] ?? '',
    provider,
    model,
    agent: 'coding',
    command: 'write_code',
    inputTokens: input,
    maxOutputTokens: output,
  };
}

/** Requests over every case: limits of users, the team and the platform, unknown and free models, repeats of earlier ids, missing counters. */
function requests(): ReserveRequest[] {
  let s = 1234;
  const rand = (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
  const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10'];
  const out: ReserveRequest[] = [];
  for (let i = 0; i < 90; i++) {
    const dice = rand(20);
    const model = dice === 0 ? 'mystery' : dice === 1 ? 'offline' : 'gpt-4o';
    out.push(request(`r-${i}`, users[rand(users.length)], 200 + rand(3000), 100 + rand(2000), model));
  }
  out.splice(17, 0, request('pre-1', 'u0', 1000, 1000));
  out.splice(60, 0, request('pre-2', 'u4', 1000, 1000));
  return out;
}

async function state(db: Database) {
  const counters = await db.query(
    `SELECT scope, scope_id, period, period_start::text AS start, spent_usd::text AS spent, reserved_usd::text AS reserved
       FROM spend_counters ORDER BY scope, scope_id, period, period_start`,
  );
  const reservations = await db.query(
    `SELECT r.request_id, r.amount_usd::text AS amount, r.priced, r.status,
            (SELECT array_agg(c.scope || ':' || c.scope_id || ':' || c.period ORDER BY c.scope, c.scope_id, c.period)
               FROM spend_counters c WHERE c.id = ANY (r.counter_ids)) AS counters
       FROM reservations r ORDER BY r.request_id`,
  );
  return { counters, reservations };
}

/** A refusal names a hard budget that applies to the request and that its amount would exceed. */
function checkRefusal(r: ReserveResult, req: ReserveRequest) {
  expect([req.userId, TEAM[req.userId] ?? '-', '']).toContain(r.scope_id);
  expect(toPico(r.spent_usd!) + toPico(r.reserved_usd!) + toPico(r.amount_usd!)).toBeGreaterThan(toPico(r.limit_usd!));
}

describe('reserve_budgets: a batch decides as one-at-a-time calls in the same order would', () => {
  let one: { db: Database; drop: () => Promise<void> };
  let batch: { db: Database; drop: () => Promise<void> };
  beforeAll(async () => {
    // One after the other: provisionServiceRole's advisory lock is per database, the role is not.
    one = await seeded();
    batch = await seeded();
  });
  afterAll(async () => {
    await one?.drop();
    await batch?.drop();
  });

  it('gives every request the same outcome and leaves the same counters and reservations', async () => {
    const repo = new ReservationRepository();
    const reqs = requests();
    const sequential: ReserveResult[] = [];
    for (const r of reqs) sequential.push(...(await repo.reserveMany(one.db, [r], PARAMS)));
    const together = await repo.reserveMany(batch.db, reqs, PARAMS);

    expect(together.map((r) => r.outcome)).toEqual(sequential.map((r) => r.outcome));
    const outcomes = new Set(together.map((r) => r.outcome));
    for (const o of ['existing', 'granted', 'denied', 'unpriced', 'missing_counters']) expect(outcomes).toContain(o);
    together.forEach((r, i) => {
      const s = sequential[i];
      expect([reqs[i].requestId, r.amount_usd === null ? null : toPico(r.amount_usd)]).toEqual([
        reqs[i].requestId,
        s.amount_usd === null ? null : toPico(s.amount_usd),
      ]);
      if (r.outcome === 'denied') {
        checkRefusal(r, reqs[i]);
        checkRefusal(s, reqs[i]);
      }
      if (r.outcome === 'unpriced')
        expect(r).toMatchObject({ scope: s.scope, scope_id: s.scope_id, period: s.period, limit_usd: s.limit_usd });
      if (r.outcome === 'granted' || r.outcome === 'existing') expect(r.expires_at).toBe(s.expires_at);
    });
    // Several limits bind: users', the team's and the platform's.
    const refusedBy = new Set(together.filter((r) => r.outcome === 'denied').map((r) => r.scope));
    expect([...refusedBy].sort()).toEqual(['global', 'team', 'user']);
    expect(await state(batch.db)).toEqual(await state(one.db));
  });

  it('answers a batch of only known request ids without writing', async () => {
    const repo = new ReservationRepository();
    const again = requests().slice(0, 30);
    const before = await state(batch.db);
    const results = await repo.reserveMany(batch.db, again, PARAMS);
    for (const r of results) expect(['existing', 'denied', 'unpriced', 'missing_counters']).toContain(r.outcome);
    expect(await state(batch.db)).toEqual(before);
  });
});
