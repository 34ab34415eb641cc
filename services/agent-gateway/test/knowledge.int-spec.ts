import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { ApiError, loadConfig, PlatformConfig, REPO_ROOT } from '@hishamos/platform';
import { KnowledgeSettings, knowledgeSettingsFrom } from '../src/config/knowledge.settings';
import {
  AddKnowledgeDocumentUseCase,
  EmbedderRegistry,
  KNOWLEDGE_SCHEMA,
  KnowledgeDatabase,
  KnowledgeRepository,
  openKnowledgeDatabase,
  RetrieveContextUseCase,
  SearchKnowledgeUseCase,
  type KnowledgeDocument,
} from '../src/knowledge';
import { ConfiguredEmbedder } from '../src/knowledge/embedding/configured.embedder';
import { DeleteKnowledgeDocumentUseCase } from '../src/knowledge/usecases/delete-knowledge-document/delete-knowledge-document.usecase';
import { ListKnowledgeDocumentsUseCase } from '../src/knowledge/usecases/list-knowledge-documents/list-knowledge-documents.usecase';

jest.setTimeout(180_000);

/** A small corpus written for this test: each document owns one topic and its vocabulary. */
const CORPUS: { title: string; source: string; metadata: Record<string, unknown>; content: string }[] = [
  {
    title: 'Postgres primary failover runbook',
    source: 'runbooks/postgres-failover.md',
    metadata: { team: 'platform', kind: 'runbook' },
    content: `# Postgres primary failover

## When to fail over
Fail over when the primary database has been unreachable for more than two minutes and the
replica lag is under ten seconds. Check replication lag on the replica with pg_stat_replication
before promoting anything.

## Promote the replica
1. Fence the old primary so it cannot accept writes: stop its service and remove it from the load balancer.
2. Promote the replica with pg_ctl promote (or SELECT pg_promote()).
3. Point the application's DATABASE_URL at the new primary and restart the connection pools.

## Afterwards
Rebuild the old primary as a replica from a fresh base backup; never let it rejoin as primary.`,
  },
  {
    title: 'API key rotation policy',
    source: 'security/api-keys.md',
    metadata: { team: 'security', kind: 'policy' },
    content: `# API key rotation

Every API key is rotated at least every 90 days. A key that leaked (pushed to a repository, pasted
into a ticket, seen in logs) is revoked immediately and a new key is issued to its owner.

## How to rotate a key
Create the new key first, deploy it to the consumers, watch the old key's usage drop to zero, then
revoke the old key. Record the rotation in the access register with the key id, never the key value.`,
  },
  {
    title: 'Kafka consumer lag troubleshooting',
    source: 'runbooks/kafka-lag.md',
    metadata: { team: 'platform', kind: 'runbook' },
    content: `# Consumer lag

Consumer lag is the number of messages a consumer group has not processed yet on a topic partition.
Lag that keeps growing means consumers are slower than producers.

## Diagnose
Compare the partitions' lag: one hot partition points at a skewed message key; lag on every
partition points at slow consumers. Look for rebalances in the consumer logs and for slow handlers.

## Fix
Scale the consumer group up to the partition count, batch the handler's database writes, and fix
the key skew. Messages that keep failing belong on the dead letter topic, not in a retry loop.`,
  },
  {
    title: 'Travel and expense reimbursement',
    source: 'finance/expenses.md',
    metadata: { team: 'finance', kind: 'policy' },
    content: `# Expense reimbursement

Submit travel expenses within 30 days with an itemised receipt for anything above 25 euros.
Hotels are reimbursed up to the city rate; economy class flights only, unless the flight is longer
than eight hours. Meals on travel days are covered by the daily allowance, not by receipts.
Your manager approves the claim, and finance pays it with the next payroll run.`,
  },
  {
    title: 'Paid time off',
    source: 'hr/pto.md',
    metadata: { team: 'people', kind: 'policy' },
    content: `# Paid time off

Employees get 25 vacation days per calendar year, plus public holidays. Up to five unused vacation
days carry over into the first quarter of the next year. Request leave in the HR system at least
two weeks ahead for absences longer than three days; sick leave needs no advance request.`,
  },
  {
    title: 'Brand voice guidelines',
    source: 'marketing/voice.md',
    metadata: { team: 'marketing', kind: 'guide' },
    content: `# Brand voice

Our tone of voice is plain, warm and confident. Blog posts and newsletters address the reader as
"you", use short sentences, and explain jargon the first time it appears. Avoid hype words such as
revolutionary or game-changing; show the customer outcome with a concrete example instead.`,
  },
];

const QUERIES: [string, string][] = [
  ['how do I rotate an API key that leaked', 'API key rotation policy'],
  ['consumer lag keeps growing on a kafka topic partition', 'Kafka consumer lag troubleshooting'],
  ['promote the replica when the primary database fails', 'Postgres primary failover runbook'],
  ['how many vacation days do employees get per year', 'Paid time off'],
  ['reimburse travel expenses hotel receipts', 'Travel and expense reimbursement'],
  ['tone of voice for blog posts', 'Brand voice guidelines'],
];

function knowledgeMigrations() {
  return migrationFiles(join(REPO_ROOT, 'migrations'), 'knowledge');
}

function useCases(kdb: KnowledgeDatabase, settings: KnowledgeSettings) {
  const repository = new KnowledgeRepository(kdb);
  const embedder = new ConfiguredEmbedder(new EmbedderRegistry(), settings);
  const search = new SearchKnowledgeUseCase(repository, embedder, settings);
  return {
    repository,
    add: new AddKnowledgeDocumentUseCase(repository, embedder, settings),
    search,
    retrieve: new RetrieveContextUseCase(search),
    list: new ListKnowledgeDocumentsUseCase(repository),
    remove: new DeleteKnowledgeDocumentUseCase(repository),
  };
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return error;
}

describe('the knowledge base on PGlite with pgvector', () => {
  let db: Database;
  let kdb: KnowledgeDatabase;
  let settings: KnowledgeSettings;
  let uc: ReturnType<typeof useCases>;
  const docs = new Map<string, KnowledgeDocument>();

  beforeAll(async () => {
    db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, vector: true });
    settings = knowledgeSettingsFrom({ KNOWLEDGE_CHUNK_SIZE: '400', KNOWLEDGE_CHUNK_OVERLAP: '80' });
    settings.KNOWLEDGE_MAX_DOCUMENT_CHARS = 5000;
    const config = loadConfig(PlatformConfig, {});
    const opened = await openKnowledgeDatabase({ db, config }, settings);
    expect(opened).toMatchObject({ owned: false, location: 'gateway' });
    kdb = KnowledgeDatabase.of(opened, settings, { db, config });
    uc = useCases(kdb, settings);
    for (const doc of CORPUS) {
      docs.set(doc.title, await uc.add.execute({ ...doc, contentType: 'text/markdown', createdBy: 'u-admin' }));
    }
  });
  afterAll(() => db?.close());

  it('ingests Markdown into heading-aware chunks, labelled with the offline embedder', async () => {
    const runbook = docs.get('Postgres primary failover runbook') as KnowledgeDocument;
    expect(runbook).toMatchObject({ embedder: 'hashing', contentType: 'text/markdown', createdBy: 'u-admin' });
    expect(runbook.chunkCount).toBeGreaterThanOrEqual(3);
    expect(await uc.repository.countChunks(runbook.id)).toBe(runbook.chunkCount);
    const rows = await db.query<{ metadata: Record<string, unknown>; content: string }>(
      `SELECT metadata, content FROM knowledge_embeddings WHERE document_id = $1 ORDER BY chunk_index`,
      [runbook.id],
    );
    expect(rows[1].metadata).toMatchObject({
      team: 'platform',
      kind: 'runbook',
      document_id: runbook.id,
      title: 'Postgres primary failover runbook',
      source: 'runbooks/postgres-failover.md',
      chunk_index: 1,
      headings: ['Postgres primary failover', 'Promote the replica'],
      embedder: 'hashing',
      embedding_offline: true,
    });
    for (const row of rows) expect(row.content.length).toBeLessThanOrEqual(400);
  });

  it.each(QUERIES)('finds the right document first for "%s"', async (query, title) => {
    const result = await uc.search.execute({ query, topK: 5 });
    expect(result.embedder).toEqual({ id: 'hashing', offline: true });
    expect(result.data[0].title).toBe(title);
    expect(result.data[0].score).toBeGreaterThan(result.data[result.data.length - 1].score);
  });

  it('uses the HNSW index for the search', async () => {
    const plan = await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL enable_seqscan = off`);
      const vector = `[${new Array(1536)
        .fill(0)
        .map((_, i) => (i === 7 ? 1 : 0))
        .join(',')}]`;
      return tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM knowledge_embeddings WHERE embedder = 'hashing' ORDER BY embedding <=> $1::vector LIMIT 5`,
        [vector],
      );
    });
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('knowledge_embeddings_hnsw');
  });

  it('filters by metadata (jsonb containment)', async () => {
    const platform = await uc.search.execute({ query: 'rotate the key', topK: 10, filter: { team: 'platform' } });
    expect(platform.data.length).toBeGreaterThan(0);
    expect(new Set(platform.data.map((h) => h.metadata.team))).toEqual(new Set(['platform']));
    const runbooks = await uc.search.execute({ query: 'lag', filter: { kind: 'runbook', team: 'platform' } });
    expect(runbooks.data[0].title).toBe('Kafka consumer lag troubleshooting');
    const none = await uc.search.execute({ query: 'vacation days', filter: { team: 'nobody' } });
    expect(none.data).toEqual([]);
    const bySource = await uc.search.execute({ query: 'vacation', filter: { source: 'hr/pto.md' } });
    expect(new Set(bySource.data.map((h) => h.title))).toEqual(new Set(['Paid time off']));
  });

  it('formats retrieved context with numbered sources for the prompt', async () => {
    const result = await uc.retrieve.execute({ query: 'our API key leaked in a ticket, what now?', topK: 3 });
    expect(result.offline).toBe(true);
    expect(result.sources[0]).toMatchObject({ n: 1, title: 'API key rotation policy', source: 'security/api-keys.md' });
    expect(result.context).toMatch(/^Knowledge base passages/);
    expect(result.context).toContain('[1] API key rotation policy');
    expect(result.context).toContain('source: security/api-keys.md');
    expect(result.context).toContain('revoked immediately');
    const nothing = await uc.retrieve.execute({ query: 'zebra giraffe savanna', topK: 3 });
    expect(nothing).toEqual({ context: '', sources: [], offline: true });
    const small = await uc.retrieve.execute({ query: 'consumer lag partitions', topK: 5, maxChars: 600 });
    expect(small.context.length).toBeLessThanOrEqual(600);
  });

  it('lists documents a page at a time, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await uc.list.execute({ limit: 4, cursor });
      seen.push(...result.data.map((d) => d.title));
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual([...CORPUS.map((d) => d.title)].reverse());
    const bad = await apiError(uc.list.execute({ cursor: 'not-a-cursor' }));
    expect([bad.status, bad.extra.field]).toEqual([400, 'cursor']);
  });

  it('deletes a document with its chunks', async () => {
    const doc = docs.get('Brand voice guidelines') as KnowledgeDocument;
    expect(await uc.repository.countChunks(doc.id)).toBeGreaterThan(0);
    const total = await uc.repository.countChunks();
    expect(await uc.remove.execute({ id: doc.id })).toEqual({
      id: doc.id,
      deleted: true,
      chunksDeleted: doc.chunkCount,
    });
    expect(await uc.repository.countChunks(doc.id)).toBe(0);
    expect(await uc.repository.countChunks()).toBe(total - doc.chunkCount);
    const result = await uc.search.execute({ query: 'tone of voice for blog posts', topK: 10 });
    expect(result.data.map((h) => h.documentId)).not.toContain(doc.id);
    const again = await apiError(uc.remove.execute({ id: doc.id }));
    expect(again.status).toBe(404);
    const notUuid = await apiError(uc.remove.execute({ id: '42' }));
    expect([notUuid.status, notUuid.extra.field]).toEqual([400, 'id']);
  });

  it('rejects bad input with a clear 4xx naming the field', async () => {
    const cases: [Promise<unknown>, number, string, string?][] = [
      [uc.add.execute({ title: 'Empty', content: '' }), 400, 'content', 'empty_document'],
      [uc.add.execute({ title: 'Blank', content: '   \n\n  ' }), 400, 'content', 'empty_document'],
      [uc.add.execute({ title: 'Symbols', content: '--- *** ---' }), 400, 'content', 'empty_document'],
      [uc.add.execute({ title: 'Huge', content: 'word '.repeat(1001) }), 413, 'content', 'document_too_large'],
      [uc.add.execute({ title: '', content: 'text' }), 400, 'title'],
      [uc.add.execute({ title: 'Reserved', content: 'text', metadata: { title: 'x' } }), 400, 'metadata.title'],
      [uc.add.execute({ title: 'Type', content: 'text', contentType: 'text/html' as never }), 400, 'contentType'],
      [uc.search.execute({ query: '' }), 400, 'query'],
      [uc.search.execute({ query: '?!', topK: 3 }), 400, 'query'],
      [uc.search.execute({ query: 'lag', topK: 0 }), 400, 'topK'],
      [uc.search.execute({ query: 'lag', topK: 51 }), 400, 'topK'],
      [uc.search.execute({ query: 'lag', filter: 'team=platform' as never }), 400, 'filter'],
      [uc.search.execute({ query: 'lag', filter: ['platform'] as never }), 400, 'filter'],
      [uc.search.execute({ query: 'lag', filter: { a: { b: { c: { d: { e: 1 } } } } } }), 400, 'filter.a.b.c.d'],
    ];
    for (const [promise, status, field, code] of cases) {
      const error = await apiError(promise);
      expect([error.status, error.extra.field]).toEqual([status, field]);
      if (code) expect(error.code).toBe(code);
    }
    const first = CORPUS[0];
    const duplicate = await apiError(uc.add.execute({ ...first }));
    expect([duplicate.status, duplicate.code]).toEqual([409, 'duplicate_document']);
  });
});

describe('the knowledge database', () => {
  it('uses a PGlite data directory in distributed mode without KNOWLEDGE_DATABASE_URL, and finds its data again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hishamos-knowledge-'));
    try {
      const config = loadConfig(PlatformConfig, {
        HISHAMOS_MODE: 'distributed',
        DATABASE_URL: 'postgres://unused@127.0.0.1:1/none',
        SERVICE_TOKEN: 'x'.repeat(40),
        HISHAMOS_DATA_DIR: dir,
      });
      const settings = knowledgeSettingsFrom({});
      const gatewayDb = {} as Database; // never touched in this mode
      const first = await openKnowledgeDatabase({ db: gatewayDb, config }, settings);
      expect(first).toMatchObject({ owned: true, location: join(dir, 'knowledge') });
      const kdb = KnowledgeDatabase.of(first, settings, { db: gatewayDb, config });
      const doc = await useCases(kdb, settings).add.execute({ title: 'Persisted', content: 'Kept across restarts.' });
      await kdb.onApplicationShutdown();

      const second = await openKnowledgeDatabase({ db: gatewayDb, config }, settings);
      const again = KnowledgeDatabase.of(second, settings, { db: gatewayDb, config });
      expect((await new KnowledgeRepository(again).getDocument(doc.id))?.title).toBe('Persisted');
      await again.onApplicationShutdown();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("upgrades a gateway database that ran the old migration (the seed's bare knowledge_embeddings table)", async () => {
    const db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, vector: true });
    try {
      await migrate(db, [
        {
          id: 'agent-gateway/0002_knowledge.sql',
          sql: `CREATE EXTENSION IF NOT EXISTS vector;
                CREATE TABLE IF NOT EXISTS knowledge_embeddings (id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
                  content TEXT, embedding vector(1536), metadata JSONB, created_at TIMESTAMP DEFAULT NOW());`,
        },
      ]);
      expect(await migrate(db, knowledgeMigrations())).toContain('knowledge/0001_knowledge_embeddings.sql');
      const columns = await db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'knowledge_embeddings' ORDER BY 1`,
      );
      expect(columns.map((c) => c.column_name)).toEqual(
        expect.arrayContaining(['document_id', 'chunk_index', 'embedder', 'embedding', 'metadata']),
      );
    } finally {
      await db.close();
    }
  });

  it('says what is missing when the database has no pgvector', async () => {
    const db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA });
    try {
      await expect(
        openKnowledgeDatabase({ db, config: loadConfig(PlatformConfig, {}) }, knowledgeSettingsFrom({})),
      ).rejects.toThrow(/needs pgvector/);
    } finally {
      await db.close();
    }
  });

  it('validates its settings', () => {
    expect(() => knowledgeSettingsFrom({ KNOWLEDGE_CHUNK_SIZE: '300', KNOWLEDGE_CHUNK_OVERLAP: '200' })).toThrow(
      /KNOWLEDGE_CHUNK_OVERLAP must be at most half/,
    );
    expect(() => knowledgeSettingsFrom({ KNOWLEDGE_DATABASE_URL: 'mysql://x' })).toThrow(/postgres:\/\//);
    expect(knowledgeSettingsFrom(undefined)).toMatchObject({
      KNOWLEDGE_EMBEDDER: 'hashing',
      KNOWLEDGE_CHUNK_SIZE: 1200,
    });
  });
});
