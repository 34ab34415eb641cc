import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Database, migrate, migrationFiles, provisionServiceRole } from '@hishamos/persistence';
import type { ServiceContext } from '@hishamos/platform';
import { requirePostgresDatabase } from '@hishamos/testing';
import { DEFAULT_RULES, LEGACY_DEFAULT_RULES } from '../src/domain/default-rules';
import { compileRule, type RuleDefinition } from '../src/domain/rule-definition';
import { definitionOf, RulesRepository } from '../src/repositories/rules.repository';
import { REPO } from './support/child';

jest.setTimeout(120000);

const MIGRATION = 'alerting/0003_priced_and_dead_lettered_rules.sql';
const CHANNELS = new Set(['email', 'slack', 'pagerduty']);

const current = (name: string) => DEFAULT_RULES.find((r) => r.name === name)!;
const legacy = (name: string) => LEGACY_DEFAULT_RULES.find((r) => r.name === name)!;

/** A rule as read back, with the optional parts made explicit (what the seed would have written). */
const stored = (def: RuleDefinition) => ({
  ...def,
  description: def.description ?? '',
  entity: def.entity ?? null,
  resolveWhen: def.resolveWhen ?? null,
  metric: def.metric ?? null,
  notifyResolved: def.notifyResolved ?? true,
  enabled: def.enabled ?? true,
});

/**
 * The migration that moves the three defaults to UsagePriced and DeadLettered: on Postgres 15 and on
 * PGlite, it updates the rows still exactly as the earlier version seeded them (to exactly what the seed
 * now writes) and leaves an operator's edit alone.
 */
describe.each(['postgres', 'pglite'] as const)(
  'migration %s: moving the defaults to priced usage and DLQ events',
  (kind) => {
    let db: Database;
    let drop: (() => Promise<void>) | undefined;
    let rules: RulesRepository;
    const files = migrationFiles(join(REPO, 'migrations'), 'alerting');
    const ids = new Map<string, string>();

    beforeAll(async () => {
      if (kind === 'postgres') {
        const pg = await requirePostgresDatabase('alerting_mig');
        drop = pg.drop;
        const url = await provisionServiceRole(pg.url, 'alerting', `pw-${randomUUID()}`);
        db = await Database.open({ kind: 'postgres', schema: 'alerting', url, poolSize: 2 });
      } else {
        db = await Database.open({ kind: 'pglite', schema: 'alerting' });
      }
      rules = new RulesRepository({ db } as unknown as ServiceContext);
      expect(files.map((f) => f.id)).toContain(MIGRATION);
      // The database as the previous release left it: migrations up to 0002 and the first seeded versions.
      await migrate(
        db,
        files.filter((f) => f.id < MIGRATION),
      );
      for (const def of LEGACY_DEFAULT_RULES) {
        const id = randomUUID();
        ids.set(def.name, id);
        await db.transaction(async (tx) => {
          expect(await rules.markSeeded(tx, 'rule', def.name)).toBe(true);
          expect(await rules.insert(tx, id, def, { builtin: true, actor: 'seed' })).toBeDefined();
        });
      }
      // An operator edited unknown_model_priced (a shorter cooldown): theirs stays.
      await rules.update(
        db,
        ids.get('unknown_model_priced')!,
        { ...legacy('unknown_model_priced'), cooldownMinutes: 30 },
        'u-op',
      );
      // The old DLQ metric rule was firing: an open alert, its state and samples.
      const dlq = ids.get('dlq_receiving_messages')!;
      const alertId = randomUUID();
      await db.query(
        `INSERT INTO alerts (id, rule_id, rule_name, entity, dedup_key, action, severity, title, message, source)
       VALUES ($1, $2, 'dlq_receiving_messages', 't1', 'k', 'trigger', 'error', 'x', 'y', 'tick')`,
        [alertId, dlq],
      );
      await db.query(
        `INSERT INTO alert_states (rule_id, entity, dedup_key, firing, open_alert_id) VALUES ($1, 't1', 'k', true, $2)`,
        [dlq, alertId],
      );
      await db.query(`INSERT INTO metric_samples (rule_id, entity, value) VALUES ($1, 't1', 3)`, [dlq]);
    });

    afterAll(async () => {
      await db?.close();
      await drop?.();
    });

    it('updates the untouched defaults to the current definitions, keeps the edited one, and clears the old state', async () => {
      const revisionBefore = await rules.revision();
      expect(await migrate(db, files)).toEqual([MIGRATION]);

      for (const name of ['high_cost', 'dlq_receiving_messages']) {
        const row = (await rules.getByName(name))!;
        expect(row.id).toBe(ids.get(name));
        expect(definitionOf(row)).toEqual(stored(current(name)));
        expect(row).toMatchObject({ revision: 2, builtin: true, updated_by: 'seed:0003' });
        expect(() => compileRule(definitionOf(row), CHANNELS)).not.toThrow();
      }
      const edited = (await rules.getByName('unknown_model_priced'))!;
      expect(definitionOf(edited)).toEqual(stored({ ...legacy('unknown_model_priced'), cooldownMinutes: 30 }));
      expect(edited).toMatchObject({ revision: 2, updated_by: 'u-op' });

      const dlq = ids.get('dlq_receiving_messages');
      expect(await db.query(`SELECT 1 FROM alert_states WHERE rule_id = $1`, [dlq])).toHaveLength(0);
      expect(await db.query(`SELECT 1 FROM metric_samples WHERE rule_id = $1`, [dlq])).toHaveLength(0);
      expect(await db.query(`SELECT 1 FROM alerts WHERE rule_id = $1 AND resolved_at IS NULL`, [dlq])).toHaveLength(0);
      expect(await rules.revision()).toBe(revisionBefore + 1);
    });
  },
);

describe('migration on a fresh database', () => {
  it('touches nothing (the seed then writes the current versions)', async () => {
    const fresh = await Database.open({ kind: 'pglite', schema: 'alerting' });
    try {
      const applied = await migrate(fresh, migrationFiles(join(REPO, 'migrations'), 'alerting'));
      expect(applied).toContain(MIGRATION);
      expect(await fresh.query(`SELECT 1 FROM alert_rules`)).toHaveLength(0);
    } finally {
      await fresh.close();
    }
  });
});
