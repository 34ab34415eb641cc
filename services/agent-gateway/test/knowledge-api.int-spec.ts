import 'reflect-metadata';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import {
  ApiError,
  AUTHENTICATOR,
  loadConfig,
  Platform,
  PlatformConfig,
  REPO_ROOT,
  type Authenticator,
  type AuthRequest,
  type Identity,
  type ServiceDefinition,
} from '@hishamos/platform';
import { KnowledgeSettings } from '../src/config/knowledge.settings';
import { KnowledgeModule } from '../src/knowledge';

jest.setTimeout(180_000);

@Injectable()
class TestAuthenticator implements Authenticator {
  async authenticate(req: AuthRequest): Promise<Identity | undefined> {
    const h = req.headers['authorization'];
    if (h === undefined) return undefined;
    if (h === 'Bearer operator-key') return { kind: 'user', subject: 'u-op', roles: ['operator'], via: 'api_key' };
    if (h === 'Bearer viewer-key') return { kind: 'user', subject: 'u-viewer', roles: ['viewer'], via: 'api_key' };
    throw ApiError.unauthorized('invalid API key');
  }
}

@Module({ imports: [KnowledgeModule], providers: [{ provide: AUTHENTICATOR, useClass: TestAuthenticator }] })
class TestModule {}

describe('the knowledge HTTP API (embedded: in the gateway PGlite, with pgvector)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hishamos-knowledge-api-'));
  let platform: Platform;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig(PlatformConfig, { HISHAMOS_DATA_DIR: dataDir, LOG_LEVEL: 'error' });
    const root = join(dataDir, 'migrations');
    cpSync(join(REPO_ROOT, 'migrations', '_platform'), join(root, '_platform'), { recursive: true });
    const definition: ServiceDefinition = {
      name: 'agent-gateway',
      consumes: [],
      publishes: [],
      vector: true,
      settings: KnowledgeSettings,
      module: TestModule,
    };
    platform = new Platform({
      config,
      ports: { 'agent-gateway': 0 },
      migrationsRoot: root,
      env: { KNOWLEDGE_MAX_DOCUMENT_CHARS: '3000', KNOWLEDGE_CHUNK_SIZE: '300', KNOWLEDGE_CHUNK_OVERLAP: '60' },
    });
    await platform.start([definition]);
    url = platform.services[0].url;
  });
  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const operator = { authorization: 'Bearer operator-key' };
  const viewer = { authorization: 'Bearer viewer-key' };
  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      json: (await res.json()) as Record<string, unknown> & { error?: Record<string, unknown> },
    };
  }

  const documents = [
    {
      title: 'Certificate renewal',
      source: 'runbooks/tls.md',
      metadata: { team: 'platform' },
      content:
        '# TLS certificates\n\nRenew TLS certificates thirty days before expiry with cert-manager; check the ingress afterwards.',
    },
    {
      title: 'Onboarding week one',
      source: 'hr/onboarding.md',
      metadata: { team: 'people' },
      content:
        '# First week\n\nNew hires get a laptop, a buddy and a first small task; the manager books a one-to-one on Friday.',
    },
    {
      title: 'Invoice approval',
      metadata: { team: 'finance' },
      content:
        'Invoices above ten thousand euros need two approvers. Pay suppliers within thirty days of the invoice date.',
      contentType: 'text/plain',
    },
  ];

  it('adds documents (operators and admins), lists them a page at a time and searches them', async () => {
    expect((await call('POST', '/v1/knowledge/documents', {}, documents[0])).status).toBe(401);
    expect((await call('POST', '/v1/knowledge/documents', viewer, documents[0])).status).toBe(403);
    const ids: string[] = [];
    for (const doc of documents) {
      const res = await call('POST', '/v1/knowledge/documents', operator, doc);
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ title: doc.title, embedder: 'hashing', createdBy: 'u-op' });
      ids.push(res.json.id as string);
    }
    // the chunks live in the gateway's own database (embedded mode)
    const gatewayDb = platform.services[0].context.db;
    const [{ n }] = await gatewayDb.query<{ n: string }>(`SELECT count(*) AS n FROM knowledge_embeddings`);
    expect(Number(n)).toBeGreaterThanOrEqual(3);

    const first = await call('GET', '/v1/knowledge/documents?limit=2', viewer);
    expect((first.json.data as { id: string }[]).map((d) => d.id)).toEqual([ids[2], ids[1]]);
    const second = await call('GET', `/v1/knowledge/documents?limit=2&cursor=${first.json.nextCursor}`, viewer);
    expect((second.json.data as { id: string }[]).map((d) => d.id)).toEqual([ids[0]]);
    expect(second.json.nextCursor).toBeNull();

    const search = await call('POST', '/v1/knowledge/search', viewer, {
      query: 'when to renew the tls certificate',
      topK: 2,
    });
    expect(search.status).toBe(200);
    expect((search.json.data as { title: string; source: string }[])[0]).toMatchObject({
      title: 'Certificate renewal',
      source: 'runbooks/tls.md',
    });
    const filtered = await call('POST', '/v1/knowledge/search', viewer, {
      query: 'thirty days',
      filter: { team: 'finance' },
    });
    expect((filtered.json.data as { title: string }[]).map((h) => h.title)).toEqual(['Invoice approval']);
  });

  it('answers bad input with 4xx naming the field', async () => {
    const empty = await call('POST', '/v1/knowledge/documents', operator, { title: 'Empty', content: '  ' });
    expect([empty.status, empty.json.error?.field, empty.json.error?.code]).toEqual([400, 'content', 'empty_document']);
    const huge = await call('POST', '/v1/knowledge/documents', operator, { title: 'Huge', content: 'a '.repeat(2000) });
    expect([huge.status, huge.json.error?.code]).toEqual([413, 'document_too_large']);
    const filter = await call('POST', '/v1/knowledge/search', viewer, { query: 'x', filter: 'team=finance' });
    expect([filter.status, filter.json.error?.field]).toEqual([400, 'filter']);
    const deep = await call('POST', '/v1/knowledge/search', viewer, {
      query: 'x',
      filter: { a: { b: { c: { d: { e: 1 } } } } },
    });
    expect([deep.status, deep.json.error?.code]).toEqual([400, 'invalid_filter']);
    const topK = await call('POST', '/v1/knowledge/search', viewer, { query: 'x', topK: 500 });
    expect([topK.status, topK.json.error?.field]).toEqual([400, 'topK']);
    const cursor = await call('GET', '/v1/knowledge/documents?cursor=abc', viewer);
    expect([cursor.status, cursor.json.error?.field]).toEqual([400, 'cursor']);
    const unknownField = await call('POST', '/v1/knowledge/documents', operator, {
      title: 'T',
      content: 'c',
      owner: 'me',
    });
    expect(unknownField.status).toBe(400);
  });

  it('deletes a document and its chunks', async () => {
    const list = await call('GET', '/v1/knowledge/documents', viewer);
    const doc = (list.json.data as { id: string; title: string; chunkCount: number }[]).find(
      (d) => d.title === 'Onboarding week one',
    );
    expect(doc).toBeDefined();
    expect((await call('DELETE', `/v1/knowledge/documents/${doc?.id}`, viewer)).status).toBe(403);
    const deleted = await call('DELETE', `/v1/knowledge/documents/${doc?.id}`, operator);
    expect(deleted.json).toEqual({ id: doc?.id, deleted: true, chunksDeleted: doc?.chunkCount });
    const gatewayDb = platform.services[0].context.db;
    const [{ n }] = await gatewayDb.query<{ n: string }>(
      `SELECT count(*) AS n FROM knowledge_embeddings WHERE document_id = $1`,
      [doc?.id],
    );
    expect(Number(n)).toBe(0);
    expect((await call('DELETE', `/v1/knowledge/documents/${doc?.id}`, operator)).status).toBe(404);
    expect((await call('DELETE', '/v1/knowledge/documents/not-a-uuid', operator)).status).toBe(400);
  });
});
