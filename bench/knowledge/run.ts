/**
 * bench/knowledge — knowledge-base search latency with the HNSW index against an exact scan of the
 * same data in the same run, and recall@k of the index against the exact scan, on PGlite (WASM
 * Postgres 17 with pgvector 0.8, in this process; the embedded mode's database).
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/knowledge/run.ts [--sizes 10000,100000]
 *
 * For each size: a fresh PGlite data directory with migrations/knowledge applied; N chunks of
 * 1536-dimension vectors loaded (without the index), then the HNSW index built with --m and
 * --ef-construction (timed); --queries held-out query vectors; each query run once as an exact
 * scan (index scans disabled: sequential scan + top-k sort) — the ground truth and the exact
 * latency — and once per --ef-search value through KnowledgeRepository.search (the product's
 * query: one transaction, SET LOCAL hnsw.ef_search, ORDER BY embedding <=> q LIMIT k, joined to
 * its document). See README.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Database, migrate, migrationFiles } from '@hishamos/persistence';
import { loadConfig, PlatformConfig } from '@hishamos/platform';
import { knowledgeSettingsFrom } from '../../services/agent-gateway/src/config/knowledge.settings';
import { KnowledgeDatabase, KNOWLEDGE_SCHEMA } from '../../services/agent-gateway/src/knowledge/knowledge-database';
import { KnowledgeRepository, toVectorLiteral } from '../../services/agent-gateway/src/knowledge/knowledge.repository';
import { formatTable, machineInfo, parseArgs, round, summarize, writeResults, type Summary } from '../lib';
import { bulkLoadChunks } from './bulk-load';
import { ClusteredVectors, DIMENSIONS, TextCorpus } from './corpus';

const REPO = resolve(__dirname, '..', '..');

const USAGE = `usage: node -r @swc-node/register bench/knowledge/run.ts [options]
  --sizes LIST          chunk counts, comma-separated (default 10000,100000)
  --queries N           query vectors per size (default 200)
  --k N                 neighbours per query (default 10)
  --m N                 HNSW m: links per node (default 16)
  --ef-construction N   HNSW ef_construction (default 64)
  --ef-search LIST      hnsw.ef_search values to measure, comma-separated (default 40,100,200)
  --data KIND           text: synthetic topic texts embedded with the offline hashing embedder (default);
                        clustered: dense unit vectors around 1000 random centres
  --topics N            topics (text) / clusters (clustered) (default: size / 100)
  --warmup N            unmeasured queries before each measured series (default 20)
  --maintenance-mb N    maintenance_work_mem for the index build, MB (default 1536)
  --data-dir PATH       keep each size's PGlite data under PATH and reuse it when already built
                        (measure again without reloading and rebuilding; default: a temporary directory)
  --target-recall R     recall@k target (default 0.95)
  --target-p99 MS       p99 target at the largest size, ms (default 20)
  --out NAME            results file bench/results/NAME.json (default knowledge)`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    sizes: '10000,100000',
    queries: 200,
    k: 10,
    m: 16,
    'ef-construction': 64,
    'ef-search': '40,100,200',
    data: 'text',
    topics: 0,
    warmup: 20,
    'maintenance-mb': 1536,
    'data-dir': '',
    'target-recall': 0.95,
    'target-p99': 20,
    out: 'knowledge',
  },
  USAGE,
);

const list = (s: string): number[] =>
  s.split(',').map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${x}\n${USAGE}`);
    return n;
  });
const sizes = list(opts.sizes);
const efSearches = list(opts['ef-search']);
if (opts.data !== 'text' && opts.data !== 'clustered') throw new Error(`--data must be text or clustered\n${USAGE}`);

interface Series {
  method: string;
  efSearch?: number;
  /** Wall-clock time per query. */
  latencyMs: Summary;
  /**
   * This process's CPU time per query (PGlite runs in-process, so this is the query's own work): the
   * figure that holds up when other work on the machine steals cores, which wall-clock p99 does not.
   */
  cpuMs: Summary;
  recall?: number;
  minRecall?: number;
}

interface SizeResult {
  chunks: number;
  topics: number;
  loadSeconds: number;
  indexBuildSeconds: number;
  tableMiB: number;
  indexMiB: number;
  plans: { hnsw: string; exact: string };
  series: Series[];
}

function dataSource(size: number) {
  const topics = opts.topics > 0 ? opts.topics : Math.max(10, Math.round(size / 100));
  if (opts.data === 'text') {
    const corpus = new TextCorpus({ seed: 42, topics, vocabulary: 30000, wordsPerTopic: 60 });
    return {
      topics,
      vector: (i: number) => corpus.embed(corpus.chunk(i)),
      query: (i: number) => corpus.embed(corpus.query(i)),
    };
  }
  const clustered = new ClusteredVectors(42, topics);
  return { topics, vector: (i: number) => clustered.vector(i), query: (i: number) => clustered.query(i) };
}

const PER_DOCUMENT = 1000;

/**
 * A fresh data directory with migrations/knowledge applied and N chunks loaded (binary COPY, without
 * the HNSW index: a bulk import loads first and indexes after).
 */
async function prepare(dir: string, size: number, vector: (i: number) => number[]): Promise<number> {
  const db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, dataDir: dir, vector: true });
  const documentIds: string[] = [];
  try {
    await migrate(db, migrationFiles(join(REPO, 'migrations'), 'knowledge'));
    await db.query(`DROP INDEX knowledge_embeddings_hnsw`);
    for (let d = 0; d * PER_DOCUMENT < size; d++) {
      const [{ id }] = await db.query<{ id: string }>(
        `INSERT INTO knowledge_documents (title, source, content_type, metadata, content_hash, chars, chunk_count, embedder)
         VALUES ($1, $2, 'text/plain', '{}'::jsonb, $3, 0, $4, 'hashing') RETURNING id`,
        [`bench document ${d}`, `bench/${d}`, `hash-${d}`, Math.min(PER_DOCUMENT, size - d * PER_DOCUMENT)],
      );
      documentIds.push(id);
    }
  } finally {
    await db.close();
  }
  const started = performance.now();
  await bulkLoadChunks({
    dataDir: dir,
    schema: KNOWLEDGE_SCHEMA,
    size,
    documentIds,
    perDocument: PER_DOCUMENT,
    vector,
    onProgress: (n) => process.stdout.write(`  loaded ${n} chunks\r`),
  });
  return (performance.now() - started) / 1000;
}

async function exactSearch(
  db: Database,
  literal: string,
  k: number,
): Promise<{ ids: string[]; ms: number; cpuMs: number }> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL enable_indexscan = off`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const rows = await tx.query<{ id: string }>(
      `SELECT e.id FROM (SELECT id, document_id, embedding <=> $1::vector AS distance FROM knowledge_embeddings
                          WHERE embedder = 'hashing' ORDER BY embedding <=> $1::vector LIMIT $2) e
         JOIN knowledge_documents d ON d.id = e.document_id ORDER BY e.distance, e.id`,
      [literal, k],
    );
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ids: rows.map((r) => r.id), ms, cpuMs: (used.user + used.system) / 1000 };
  });
}

async function plan(db: Database, literal: string, exact: boolean): Promise<string> {
  return db.transaction(async (tx) => {
    if (exact) await tx.query(`SET LOCAL enable_indexscan = off`);
    const rows = await tx.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM knowledge_embeddings WHERE embedder = 'hashing' ORDER BY embedding <=> $1::vector LIMIT 10`,
      [literal],
    );
    return rows
      .map((r) => r['QUERY PLAN'].trim())
      .filter((l) => /Scan|Sort|Limit/.test(l))
      .map((l) => l.replace(/\s+\(cost.*$/, '').replace(/'\[[^\]]*\]'::vector/g, () => '$1'))
      .join(' / ');
  });
}

/** Where a size's data lives: a fresh temporary directory, or a kept one under --data-dir (reused when built). */
function dataDirFor(size: number): { dir: string; keep: boolean } {
  if (!opts['data-dir']) return { dir: mkdtempSync(join(tmpdir(), 'hishamos-bench-knowledge-')), keep: false };
  const name = `${opts.data}-${size}-m${opts.m}-efc${opts['ef-construction']}-t${opts.topics}`;
  const dir = resolve(opts['data-dir'], name);
  mkdirSync(dir, { recursive: true });
  return { dir, keep: true };
}

interface BuiltMarker {
  loadSeconds: number;
  indexBuildSeconds: number;
}

async function runSize(size: number): Promise<SizeResult> {
  const { dir, keep } = dataDirFor(size);
  const source = dataSource(size);
  const markerFile = join(dir, 'hishamos-bench-built.json');
  const built = existsSync(markerFile) ? (JSON.parse(readFileSync(markerFile, 'utf8')) as BuiltMarker) : undefined;
  console.log(`\n${size} chunks (${opts.data}, ${source.topics} topics) in ${dir}${built ? ' (reused)' : ''}`);
  let db: Database | undefined;
  try {
    let loadSeconds: number;
    let indexBuildSeconds: number;
    if (built) {
      ({ loadSeconds, indexBuildSeconds } = built);
      db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, dataDir: dir, vector: true });
    } else {
      loadSeconds = await prepare(dir, size, source.vector);
      console.log(`  loaded ${size} chunks in ${round(loadSeconds)} s (binary COPY)`);
      db = await Database.open({ kind: 'pglite', schema: KNOWLEDGE_SCHEMA, dataDir: dir, vector: true });
      const t = performance.now();
      await db.query(`SET maintenance_work_mem = '${opts['maintenance-mb']}MB'`);
      await db.query(
        `CREATE INDEX knowledge_embeddings_hnsw ON knowledge_embeddings USING hnsw (embedding vector_cosine_ops)
         WITH (m = ${opts.m}, ef_construction = ${opts['ef-construction']})`,
      );
      await db.query(`RESET maintenance_work_mem`);
      indexBuildSeconds = (performance.now() - t) / 1000;
      await db.query(`ANALYZE knowledge_embeddings`);
      console.log(`  built the HNSW index in ${round(indexBuildSeconds)} s`);
      if (keep) writeFileSync(markerFile, JSON.stringify({ loadSeconds, indexBuildSeconds }));
    }
    const [sizes] = await db.query<{ table_bytes: string; index_bytes: string }>(
      `SELECT pg_total_relation_size('knowledge_embeddings') - pg_indexes_size('knowledge_embeddings') AS table_bytes,
              pg_relation_size('knowledge_embeddings_hnsw') AS index_bytes`,
    );

    const queryVectors = Array.from({ length: opts.queries }, (_, i) => source.query(i));
    const queries = queryVectors.map(toVectorLiteral);
    const plans = { hnsw: await plan(db, queries[0], false), exact: await plan(db, queries[0], true) };

    // The exact scan's answers depend only on the data and the queries: with a kept data directory they are
    // measured once and reused (the exact-scan row then repeats the first run's latencies, marked as such).
    const truthFile = join(dir, `hishamos-bench-truth-q${opts.queries}-k${opts.k}.json`);
    let exact: { truth: string[][]; ms: number[]; cpuMs: number[] };
    let exactReused = false;
    if (keep && existsSync(truthFile)) {
      exact = JSON.parse(readFileSync(truthFile, 'utf8')) as typeof exact;
      exactReused = true;
    } else {
      exact = { truth: [], ms: [], cpuMs: [] };
      for (let i = 0; i < Math.min(opts.warmup, 5); i++) await exactSearch(db, queries[i % queries.length], opts.k);
      for (const q of queries) {
        const r = await exactSearch(db, q, opts.k);
        exact.truth.push(r.ids);
        exact.ms.push(r.ms);
        exact.cpuMs.push(r.cpuMs);
      }
      if (keep) writeFileSync(truthFile, JSON.stringify(exact));
    }
    const truth = exact.truth;
    const series: Series[] = [
      {
        method: exactReused ? 'exact scan (kept)' : 'exact scan',
        latencyMs: summarize(exact.ms),
        cpuMs: summarize(exact.cpuMs),
      },
    ];
    console.log(
      `  exact scan p50 ${round(series[0].latencyMs.p50, 2)} ms${exactReused ? ' (measured by an earlier run)' : ''}`,
    );

    // As the product opens it (openKnowledgeDatabase): query vectors in pgvector's binary form.
    await db.sendBinaryParameters('vector');
    const settings = knowledgeSettingsFrom({});
    const config = loadConfig(PlatformConfig, {});
    const kdb = KnowledgeDatabase.of({ db, owned: false, location: dir, vectorVersion: '0.8' }, settings, {
      db,
      config,
    });
    const repository = new KnowledgeRepository(kdb);
    for (const efSearch of efSearches) {
      const search = (queryIndex: number) =>
        repository.search({
          embedding: queryVectors[queryIndex],
          embedder: 'hashing',
          topK: opts.k,
          efSearch,
        });
      for (let i = 0; i < opts.warmup; i++) await search(i % queries.length);
      const ms: number[] = [];
      const cpuMs: number[] = [];
      const recalls: number[] = [];
      for (let i = 0; i < queries.length; i++) {
        const cpu = process.cpuUsage();
        const started = performance.now();
        const hits = await search(i);
        ms.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        cpuMs.push((used.user + used.system) / 1000);
        const expected = new Set(truth[i]);
        recalls.push(hits.filter((h) => expected.has(h.chunkId)).length / Math.max(1, truth[i].length));
      }
      const s: Series = {
        method: 'HNSW',
        efSearch,
        latencyMs: summarize(ms),
        cpuMs: summarize(cpuMs),
        recall: recalls.reduce((a, b) => a + b, 0) / recalls.length,
        minRecall: Math.min(...recalls),
      };
      series.push(s);
      console.log(
        `  HNSW ef_search=${efSearch}: p50 ${round(s.latencyMs.p50, 2)} ms (cpu ${round(s.cpuMs.p50, 2)}), ` +
          `p99 ${round(s.latencyMs.p99, 2)} ms (cpu ${round(s.cpuMs.p99, 2)}), recall@${opts.k} ${round(s.recall ?? 0, 3)}`,
      );
    }
    return {
      chunks: size,
      topics: source.topics,
      loadSeconds,
      indexBuildSeconds,
      tableMiB: round(Number(sizes.table_bytes) / 2 ** 20),
      indexMiB: round(Number(sizes.index_bytes) / 2 ** 20),
      plans,
      series,
    };
  } finally {
    await db?.close();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = machineInfo(REPO);
  console.log(
    `bench/knowledge: PGlite + pgvector, ${DIMENSIONS} dims, ${opts.data} data, k=${opts.k}, m=${opts.m}, ` +
      `ef_construction=${opts['ef-construction']}, ef_search=${efSearches.join('/')}, ${opts.queries} queries`,
  );
  const results: SizeResult[] = [];
  for (const size of sizes) results.push(await runSize(size));

  const rows = results.flatMap((r) =>
    r.series.map((s) => [
      r.chunks,
      s.method,
      s.efSearch ?? null,
      round(s.latencyMs.p50, 2),
      round(s.latencyMs.p90, 2),
      round(s.latencyMs.p99, 2),
      round(s.latencyMs.max, 2),
      round(s.cpuMs.p50, 2),
      round(s.cpuMs.p99, 2),
      s.recall === undefined ? 'ground truth' : round(s.recall, 3),
      s.minRecall === undefined ? null : round(s.minRecall, 2),
    ]),
  );
  console.log(
    `\n${formatTable(
      [
        'chunks',
        'method',
        'ef_search',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'max ms',
        'cpu p50 ms',
        'cpu p99 ms',
        `recall@${opts.k}`,
        'min recall',
      ],
      rows,
    )}`,
  );
  console.log(
    `\n${formatTable(
      ['chunks', 'load s', 'index build s', 'table MiB', 'index MiB'],
      results.map((r) => [r.chunks, round(r.loadSeconds), round(r.indexBuildSeconds), r.tableMiB, r.indexMiB]),
    )}`,
  );

  const largest = results[results.length - 1];
  const meeting = largest.series.filter(
    (s) => s.method === 'HNSW' && (s.recall ?? 0) >= opts['target-recall'] && s.latencyMs.p99 < opts['target-p99'],
  );
  const verdict =
    meeting.length > 0
      ? `target met at ${largest.chunks} chunks: ef_search=${meeting[0].efSearch} gives recall@${opts.k} ` +
        `${round(meeting[0].recall ?? 0, 3)} with p99 ${round(meeting[0].latencyMs.p99, 2)} ms ` +
        `(cpu p99 ${round(meeting[0].cpuMs.p99, 2)} ms)`
      : `target NOT met at ${largest.chunks} chunks (recall@${opts.k} >= ${opts['target-recall']} and wall-clock p99 < ${opts['target-p99']} ms)`;
  console.log(`\n${verdict}`);
  const file = writeResults(REPO, opts.out, {
    benchmark: 'knowledge',
    loadAverage1mAtEnd: round(loadavg()[0], 2),
    database: 'PGlite (in-process WASM Postgres) with pgvector',
    machine,
    options: { ...opts, sizes, efSearches },
    results,
    verdict,
  });
  console.log(`results: ${file}`);
}

main().catch((error: unknown) => {
  // the message only: a failed INSERT's error carries its parameters (megabytes of vectors)
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
