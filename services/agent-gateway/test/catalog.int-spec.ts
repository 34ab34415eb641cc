import 'reflect-metadata';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { CatalogError } from '@hishamos/catalog';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { ApiError, REPO_ROOT } from '@hishamos/platform';
import { requirePostgresDatabase } from '@hishamos/testing';
import {
  CatalogRepository,
  CreateTemplateVersionUseCase,
  GetCommandUseCase,
  SEED_ACTOR,
  SeedCatalogUseCase,
  SetTemplateLabelUseCase,
} from '../src/catalog';

jest.setTimeout(180_000);

const SCHEMA = 'agent_gateway';

/**
 * The platform's and the catalog's migrations (`NNNN_catalog*.sql`), not the rest of the gateway's:
 * this suite tests the catalog alone.
 */
function catalogMigrations() {
  return migrationFiles(join(REPO_ROOT, 'migrations'), 'agent-gateway').filter(
    (f) => f.id.startsWith('_platform/') || /^agent-gateway\/\d{4}_catalog/.test(f.id),
  );
}

interface Opened {
  db: Database;
  close: () => Promise<void>;
}

const backends: { name: string; open: () => Promise<Opened> }[] = [
  {
    name: 'PGlite',
    open: async () => {
      const db = await Database.open({ kind: 'pglite', schema: SCHEMA });
      return { db, close: () => db.close() };
    },
  },
  {
    name: 'Postgres',
    open: async () => {
      const pg = await requirePostgresDatabase('catalog');
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      await client.query(`CREATE SCHEMA ${SCHEMA}`);
      await client.end();
      const db = await Database.open({ kind: 'postgres', schema: SCHEMA, url: pg.url, poolSize: 4 });
      return {
        db,
        close: async () => {
          await db.close();
          await pg.drop();
        },
      };
    },
  },
];

/** A copy of seeds/ that a test may edit. */
function copySeeds(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hishamos-seeds-'));
  cpSync(join(REPO_ROOT, 'seeds'), dir, { recursive: true });
  return dir;
}

/** Edits one command of a seeds copy in place (YAML round trip). */
function editSeedCommand(seedsDir: string, agent: string, command: string, edit: (node: YAMLMap) => void): void {
  const file = join(seedsDir, 'commands', `${agent}.yaml`);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const commands = doc.get('commands') as YAMLSeq<YAMLMap>;
  const node = commands.items.find((item) => item.get('name') === command);
  if (!node) throw new Error(`no command ${agent}/${command} in the seeds`);
  edit(node);
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

function appendToTemplate(seedsDir: string, agent: string, command: string, sentence: string): void {
  editSeedCommand(seedsDir, agent, command, (node) => {
    node.set('template', `${String(node.get('template')).trimEnd()}\n${sentence}\n`);
  });
}

/** Every catalog row, in a stable order: equal snapshots mean nothing was written. */
async function snapshot(db: Database): Promise<string> {
  const tables: Record<string, string> = {
    agents: 'slug',
    command_templates: 'agent, name',
    template_versions: 'agent, command, version',
    template_labels: 'agent, command, label',
    template_label_history: 'id',
  };
  const out: Record<string, unknown[]> = {};
  for (const [table, order] of Object.entries(tables)) {
    out[table] = await db.query(`SELECT to_jsonb(t) AS row FROM ${table} t ORDER BY ${order}`);
  }
  return JSON.stringify(out);
}

const count = async (db: Database, sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: string | number }>(sql, params))[0].n);

describe.each(backends)('the catalog on $name', (backend) => {
  let opened: Opened;
  let db: Database;
  let repo: CatalogRepository;
  let seeder: SeedCatalogUseCase;
  let createVersion: CreateTemplateVersionUseCase;
  let setLabel: SetTemplateLabelUseCase;
  let seedsDir: string;

  beforeAll(async () => {
    opened = await backend.open();
    db = opened.db;
    await migrate(db, catalogMigrations());
    repo = new CatalogRepository({ db });
    seeder = new SeedCatalogUseCase(repo, { db });
    createVersion = new CreateTemplateVersionUseCase(repo, { db });
    setLabel = new SetTemplateLabelUseCase(repo, { db });
    seedsDir = copySeeds();
  });

  afterAll(async () => {
    await opened?.close();
    if (seedsDir) rmSync(seedsDir, { recursive: true, force: true });
  });

  it('seeds 15 agents and 375 commands, each at version 1 labelled production, latest and seed', async () => {
    const report = await seeder.execute({ seedsDir });
    expect(report.agents.created).toHaveLength(15);
    expect(report.commands.created).toHaveLength(375);
    expect(await count(db, 'SELECT count(*) AS n FROM agents')).toBe(15);
    expect(await count(db, 'SELECT count(*) AS n FROM command_templates')).toBe(375);
    expect(await count(db, 'SELECT count(*) AS n FROM template_versions')).toBe(375);
    expect(await count(db, `SELECT count(*) AS n FROM template_labels WHERE version = 1`)).toBe(375 * 3);

    const agents = await repo.listAgents();
    expect(agents.map((a) => a.slug)).toContain('code-reviewer');
    const coding = await repo.getAgent('coding');
    expect(coding).toMatchObject({ category: 'engineering', source: 'seed', enabled: true });
    expect(coding?.capabilities).toContain('write_code');

    const command = await repo.getCommand('coding', 'write_code');
    expect(command).toMatchObject({ agent: 'coding', name: 'write_code', version: 1, source: 'seed' });
    expect(command?.labels).toEqual(['latest', 'production', 'seed']);
    expect(command?.template).toContain('{feature}');
    // the output sections keep the seed's order (they are the answer's sections, in order)
    const seedOrder = ['summary', 'assumptions', 'code', 'tests', 'notes'];
    expect(Object.keys(command?.outputSchema.properties ?? {})).toEqual(seedOrder);
    const listed = (await repo.listCommands('coding')).find((c) => c.name === 'write_code');
    expect(listed?.labels).toEqual({ latest: 1, production: 1, seed: 1 });
    expect(Object.keys(listed?.outputSchema.properties ?? {})).toEqual(seedOrder);
  });

  it('is idempotent: seeding again writes nothing, the rows are identical', async () => {
    const before = await snapshot(db);
    const report = await seeder.execute({ seedsDir });
    expect(report.agents).toEqual({ created: [], updated: [], unchanged: 15, keptAdmin: [] });
    expect(report.commands).toMatchObject({ created: [], versioned: [], metadataUpdated: [], unchanged: 375 });
    expect(await snapshot(db)).toBe(before);
  });

  it('writes a new version for a changed seed and makes it production while the seeder owns the label', async () => {
    appendToTemplate(seedsDir, 'coding', 'debug', 'Finally, name the log line that would have caught this sooner.');
    const report = await seeder.execute({ seedsDir });
    expect(report.commands.versioned).toEqual(['coding/debug@2']);
    expect(report.commands.productionKept).toEqual([]);
    const v1 = await repo.getVersion('coding', 'debug', 1);
    const v2 = await repo.getVersion('coding', 'debug', 2);
    expect(v1?.labels).toEqual([]);
    expect(v2).toMatchObject({ source: 'seed', createdBy: SEED_ACTOR, labels: ['latest', 'production', 'seed'] });
    expect(v2?.template).toContain('name the log line');
    expect(v1?.template).not.toContain('name the log line');
    // idempotent again
    const before = await snapshot(db);
    await seeder.execute({ seedsDir });
    expect(await snapshot(db)).toBe(before);
  });

  it('never overwrites or relabels an admin version: a changed seed only gets seed and latest', async () => {
    const original = await repo.getCommand('qa', 'write_test_plan');
    const admin = await createVersion.execute({
      agent: 'qa',
      command: 'write_test_plan',
      template: `${original?.template}\nInclude a section on test data management.`,
      note: 'test data',
      labels: ['production'],
      createdBy: 'u-admin',
      source: 'admin',
    });
    expect(admin).toMatchObject({ version: 2, source: 'admin', labels: ['latest', 'production'] });
    const adminRow = JSON.stringify(await repo.getVersion('qa', 'write_test_plan', 2));

    appendToTemplate(seedsDir, 'qa', 'write_test_plan', 'Mark each case as automated or manual.');
    const report = await seeder.execute({ seedsDir });
    expect(report.commands.versioned).toEqual(['qa/write_test_plan@3']);
    expect(report.commands.productionKept).toEqual(['qa/write_test_plan']);

    const adminAfter = await repo.getVersion('qa', 'write_test_plan', 2);
    expect(adminAfter?.template).toBe(admin.template);
    expect(adminAfter?.labels).toEqual(['production']);
    expect({ ...JSON.parse(adminRow), labels: ['production'] }).toEqual(JSON.parse(JSON.stringify(adminAfter)));
    expect((await repo.getVersion('qa', 'write_test_plan', 3))?.labels).toEqual(['latest', 'seed']);
    expect((await repo.getCommand('qa', 'write_test_plan'))?.version).toBe(2);

    // and it stays that way through further reseeds
    appendToTemplate(seedsDir, 'qa', 'write_test_plan', 'Flag the cases that need production-like data.');
    await seeder.execute({ seedsDir });
    expect((await repo.getCommand('qa', 'write_test_plan'))?.version).toBe(2);
    expect((await repo.getCommand('qa', 'write_test_plan', { label: 'seed' }))?.version).toBe(4);
  });

  it('rolls back by moving production, which pins it against later seeds, and records the history', async () => {
    appendToTemplate(seedsDir, 'devops', 'rollback', 'State how long the rollback is expected to take.');
    await seeder.execute({ seedsDir });
    expect((await repo.getCommand('devops', 'rollback'))?.version).toBe(2);

    const result = await setLabel.execute({
      agent: 'devops',
      command: 'rollback',
      label: 'production',
      version: 1,
      movedBy: 'u-admin',
    });
    expect(result.move).toMatchObject({ label: 'production', fromVersion: 2, toVersion: 1, movedBy: 'u-admin' });
    expect(result.labels).toEqual({ latest: 2, production: 1, seed: 2 });
    const running = await repo.getCommand('devops', 'rollback');
    expect(running?.version).toBe(1);
    expect((await repo.getCommandSummary('devops', 'rollback'))?.outputSchema).toEqual(running?.outputSchema);

    appendToTemplate(seedsDir, 'devops', 'rollback', 'Name who must approve it.');
    const report = await seeder.execute({ seedsDir });
    expect(report.commands.productionKept).toEqual(['devops/rollback']);
    expect((await repo.getCommand('devops', 'rollback'))?.version).toBe(1);
    expect((await repo.getCommand('devops', 'rollback', { label: 'latest' }))?.version).toBe(3);

    const history = await repo.labelHistory('devops', 'rollback');
    expect(history.filter((h) => h.label === 'production').map((h) => [h.fromVersion, h.toVersion, h.movedBy])).toEqual(
      [
        [2, 1, 'u-admin'],
        [1, 2, SEED_ACTOR],
        [null, 1, SEED_ACTOR],
      ],
    );

    // a custom label, then resolving by it
    await setLabel.execute({ agent: 'devops', command: 'rollback', label: 'canary', version: 3, movedBy: 'u-admin' });
    expect((await repo.getCommand('devops', 'rollback', { label: 'canary' }))?.version).toBe(3);
  });

  it('keeps versions immutable: UPDATE and DELETE of a version are refused by the database', async () => {
    await expect(
      db.query(`UPDATE template_versions SET template = 'changed' WHERE agent = 'coding' AND command = 'debug'`),
    ).rejects.toThrow(/immutable/);
    await expect(
      db.query(`DELETE FROM template_versions WHERE agent = 'coding' AND command = 'debug' AND version = 1`),
    ).rejects.toThrow(/immutable/);
    expect((await repo.getVersion('coding', 'debug', 1))?.template).not.toBe('changed');
  });

  it('updates seeded metadata but not an agent an admin took over', async () => {
    await db.query(`UPDATE agents SET source = 'admin', max_concurrent_tasks = 9 WHERE slug = 'finance'`);
    const agentFile = join(seedsDir, 'agents', 'finance.yaml');
    const doc = parseDocument(readFileSync(agentFile, 'utf8'));
    doc.set('max_concurrent_tasks', 2);
    writeFileSync(agentFile, doc.toString({ lineWidth: 0 }));
    editSeedCommand(seedsDir, 'sales', 'write_email', (node) => node.set('difficulty', 5));

    const report = await seeder.execute({ seedsDir });
    expect(report.agents.keptAdmin).toEqual(['finance']);
    expect((await repo.getAgent('finance'))?.maxConcurrentTasks).toBe(9);
    expect(report.commands.metadataUpdated).toEqual(['sales/write_email']);
    expect(report.commands.versioned).toEqual([]);
    expect((await repo.getCommand('sales', 'write_email'))?.difficulty).toBe(5);
  });
});

describe('catalog use cases (PGlite)', () => {
  let db: Database;
  let repo: CatalogRepository;
  let createVersion: CreateTemplateVersionUseCase;
  let setLabel: SetTemplateLabelUseCase;
  let getCommand: GetCommandUseCase;

  beforeAll(async () => {
    db = await Database.open({ kind: 'pglite', schema: SCHEMA });
    await migrate(db, catalogMigrations());
    repo = new CatalogRepository({ db });
    await new SeedCatalogUseCase(repo, { db }).execute({ seedsDir: join(REPO_ROOT, 'seeds') });
    createVersion = new CreateTemplateVersionUseCase(repo, { db });
    setLabel = new SetTemplateLabelUseCase(repo, { db });
    getCommand = new GetCommandUseCase(repo);
  });
  afterAll(() => db?.close());

  const apiError = async (p: Promise<unknown>): Promise<ApiError> => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
    return error;
  };

  it('refuses a template whose placeholders and input schema disagree, naming the field', async () => {
    const current = await repo.getCommand('coding', 'write_code');
    const error = await apiError(
      createVersion.execute({
        agent: 'coding',
        command: 'write_code',
        template: `${current?.template}\nAlso target {runtime}.`,
        createdBy: 'u-admin',
        source: 'admin',
      }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_template');
    expect(error.extra.field).toBe('template');
    expect(error.message).toContain('{runtime}');

    const unused = await apiError(
      createVersion.execute({
        agent: 'coding',
        command: 'write_code',
        template: 'Write {feature} in {language}.',
        createdBy: 'u-admin',
        source: 'admin',
      }),
    );
    expect(unused.extra.field).toMatch(/^inputSchema\.properties\./);

    // with a matching schema it is accepted
    const ok = await createVersion.execute({
      agent: 'coding',
      command: 'write_code',
      template: 'Write {feature} in {language}. Keep it short.',
      inputSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['feature', 'language'],
        properties: { feature: { type: 'string' }, language: { type: 'string' } },
      },
      createdBy: 'u-admin',
      source: 'admin',
    });
    expect(ok).toMatchObject({ version: 2, labels: ['latest'], createdBy: 'u-admin' });
    expect((await repo.getCommand('coding', 'write_code'))?.version).toBe(1);
  });

  it('refuses an identical edit, reserved labels, and unknown commands or versions', async () => {
    const latest = await repo.getCommand('coding', 'write_code', { label: 'latest' });
    const same = await apiError(
      createVersion.execute({
        agent: 'coding',
        command: 'write_code',
        template: latest?.template ?? '',
        createdBy: 'u-admin',
        source: 'admin',
      }),
    );
    expect([same.status, same.code]).toEqual([409, 'no_change']);
    const reserved = await apiError(
      setLabel.execute({ agent: 'coding', command: 'write_code', label: 'latest', version: 1, movedBy: 'u' }),
    );
    expect([reserved.status, reserved.code]).toEqual([400, 'reserved_label']);
    const missing = await apiError(
      setLabel.execute({ agent: 'coding', command: 'write_code', label: 'production', version: 99, movedBy: 'u' }),
    );
    expect([missing.status, missing.extra.field]).toEqual([404, 'version']);
    const unknown = await apiError(getCommand.execute({ agent: 'coding', command: 'nope' }));
    expect(unknown.status).toBe(404);
    const noLabel = await apiError(getCommand.execute({ agent: 'coding', command: 'write_code', label: 'canary' }));
    expect([noLabel.status, noLabel.extra.field]).toEqual([404, 'label']);
    const both = await apiError(
      getCommand.execute({ agent: 'coding', command: 'write_code', label: 'production', version: 1 }),
    );
    expect(both.status).toBe(400);
  });

  it('writes suggestions as drafts that never become production or latest', async () => {
    const before = await repo.getCommandSummary('legal', 'review_contract');
    const current = await repo.getCommand('legal', 'review_contract');
    const draft = await createVersion.execute({
      agent: 'legal',
      command: 'review_contract',
      template: `${current?.template}\nQuote the clause number for every finding.`,
      note: 'suggestion 42',
      createdBy: 'service:feedback-ml',
      source: 'suggestion',
    });
    expect(draft).toMatchObject({ version: 2, source: 'suggestion', labels: ['draft'] });
    const after = await repo.getCommandSummary('legal', 'review_contract');
    expect(after?.labels).toEqual({ ...before?.labels, draft: 2 });

    const refused = await apiError(
      createVersion.execute({
        agent: 'legal',
        command: 'review_contract',
        template: `${current?.template}\nAnother idea.`,
        labels: ['production'],
        createdBy: 'service:feedback-ml',
        source: 'suggestion',
      }),
    );
    expect([refused.status, refused.code]).toEqual([400, 'reserved_label']);

    // an admin promotes the draft by moving production onto it
    await setLabel.execute({
      agent: 'legal',
      command: 'review_contract',
      label: 'production',
      version: 2,
      movedBy: 'u',
    });
    expect((await repo.getCommand('legal', 'review_contract'))?.source).toBe('suggestion');
  });

  it('refuses an invalid seed before writing anything', async () => {
    const broken = copySeeds();
    try {
      appendToTemplate(broken, 'hr', 'screen_resume', 'Also consider {undeclared_input}.');
      const before = await snapshot(db);
      const error = await new SeedCatalogUseCase(repo, { db }).execute({ seedsDir: broken }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CatalogError);
      expect((error as CatalogError).problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ file: 'commands/hr.yaml', field: 'commands.screen_resume.template' }),
        ]),
      );
      expect(await snapshot(db)).toBe(before);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});
