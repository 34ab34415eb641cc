import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '@hishamos/persistence';
import type { KnowledgeContentType } from './chunking/text-chunker';
import { KnowledgeDatabase } from './knowledge-database';
import type { KnowledgeDocument, KnowledgeHit } from './knowledge.types';

interface DocumentRow {
  id: string;
  title: string;
  source: string | null;
  content_type: KnowledgeContentType;
  metadata: Record<string, unknown>;
  content_hash: string;
  chars: number;
  chunk_count: number;
  embedder: string;
  created_by: string | null;
  created_at: Date | string;
  created_at_text: string;
}

interface HitRow {
  id: string;
  document_id: string;
  chunk_index: number;
  content: string;
  metadata: Record<string, unknown>;
  distance: number | string;
  title: string;
  source: string | null;
}

export interface NewKnowledgeDocument {
  id: string;
  title: string;
  source: string | null;
  contentType: KnowledgeContentType;
  metadata: Record<string, unknown>;
  contentHash: string;
  chars: number;
  embedder: string;
  createdBy: string | null;
}

export interface NewKnowledgeChunk {
  index: number;
  content: string;
  embedding: number[];
  /** The chunk's own metadata (the document's plus its position, headings and embedder). */
  metadata: Record<string, unknown>;
}

export interface KnowledgeSearch {
  embedding: number[];
  embedder: string;
  topK: number;
  /** jsonb containment filter on the chunks' metadata. */
  filter?: Record<string, unknown>;
  efSearch: number;
}

/** A page of documents, newest first; pass nextCursor back for the next page. */
export interface DocumentPage {
  data: KnowledgeDocument[];
  nextCursor: string | null;
}

const DOCUMENT_COLUMNS = `id, title, source, content_type, metadata, content_hash, chars, chunk_count, embedder,
  created_by, created_at, created_at::text AS created_at_text`;

const INSERT_BATCH = 50;

/** pgvector's text form, at float4 precision. */
export function toVectorLiteral(vector: readonly number[]): string {
  return `[${vector.map((v) => (v === 0 ? '0' : Math.fround(v).toPrecision(7))).join(',')}]`;
}

/**
 * pgvector's binary form (`vector_recv`): int16 dimensions, int16 0, big-endian float4s. A query vector
 * sent this way skips parsing 1536 decimal numbers on the server (about 2.5 ms of CPU per search on
 * PGlite); the database must send it in binary (`Database.sendBinaryParameters('vector')`).
 */
export function toVectorBinary(vector: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * vector.length);
  out.writeInt16BE(vector.length, 0);
  out.writeInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) out.writeFloatBE(vector[i], 4 + 4 * i);
  return out;
}

function toDocument(row: DocumentRow): KnowledgeDocument {
  return {
    id: row.id,
    title: row.title,
    source: row.source,
    contentType: row.content_type,
    metadata: row.metadata,
    contentHash: row.content_hash,
    chars: row.chars,
    chunkCount: row.chunk_count,
    embedder: row.embedder,
    createdBy: row.created_by,
    createdAt: (row.created_at instanceof Date ? row.created_at : new Date(row.created_at)).toISOString(),
  };
}

/** created_at::text as Postgres prints it: `2025-06-01 12:00:00.123456+00`. */
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/;

function encodeCursor(row: DocumentRow): string {
  return Buffer.from(JSON.stringify([row.created_at_text, row.id])).toString('base64url');
}

/** The page position a cursor names, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      /^[0-9a-f-]{36}$/.test(value[1]) &&
      TIMESTAMP_TEXT.test(value[0])
    ) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // not base64url JSON: falls through
  }
  return undefined;
}

/** Documents and their embedded chunks (migrations/knowledge), in the knowledge database. */
@Injectable()
export class KnowledgeRepository {
  constructor(private readonly kdb: KnowledgeDatabase) {}

  private get db() {
    return this.kdb.db;
  }

  /** A document with the same content, title and source, if one was added before. */
  async findDuplicate(
    title: string,
    source: string | null,
    contentHash: string,
  ): Promise<KnowledgeDocument | undefined> {
    const [row] = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM knowledge_documents
        WHERE content_hash = $1 AND title = $2 AND source IS NOT DISTINCT FROM $3 LIMIT 1`,
      [contentHash, title, source],
    );
    return row ? toDocument(row) : undefined;
  }

  /** Inserts a document and all its chunks in one transaction. */
  async insertDocument(doc: NewKnowledgeDocument, chunks: NewKnowledgeChunk[]): Promise<KnowledgeDocument> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<DocumentRow>(
        `INSERT INTO knowledge_documents (id, title, source, content_type, metadata, content_hash, chars, chunk_count,
                                          embedder, created_by)
         VALUES ($10, $1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
         RETURNING ${DOCUMENT_COLUMNS}`,
        [
          doc.title,
          doc.source,
          doc.contentType,
          JSON.stringify(doc.metadata),
          doc.contentHash,
          doc.chars,
          chunks.length,
          doc.embedder,
          doc.createdBy,
          doc.id,
        ],
      );
      for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
        await this.insertChunks(tx, row.id, doc.embedder, chunks.slice(i, i + INSERT_BATCH));
      }
      return toDocument(row);
    });
  }

  private async insertChunks(
    tx: SqlExecutor,
    documentId: string,
    embedder: string,
    chunks: NewKnowledgeChunk[],
  ): Promise<void> {
    const params: unknown[] = [documentId, embedder];
    const values = chunks.map((chunk) => {
      params.push(chunk.index, chunk.content, toVectorLiteral(chunk.embedding), JSON.stringify(chunk.metadata));
      const n = params.length;
      return `($1, $2, $${n - 3}, $${n - 2}, $${n - 1}::vector, $${n}::jsonb)`;
    });
    await tx.query(
      `INSERT INTO knowledge_embeddings (document_id, embedder, chunk_index, content, embedding, metadata)
       VALUES ${values.join(', ')}`,
      params,
    );
  }

  async getDocument(id: string): Promise<KnowledgeDocument | undefined> {
    const [row] = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM knowledge_documents WHERE id = $1`,
      [id],
    );
    return row ? toDocument(row) : undefined;
  }

  async listDocuments(limit: number, after?: { createdAt: string; id: string }): Promise<DocumentPage> {
    const rows = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM knowledge_documents
        WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid)
        ORDER BY created_at DESC, id DESC
        LIMIT $3`,
      [after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      data: page.map(toDocument),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }

  /** Deletes a document and (by cascade) its chunks; the number of chunks removed, or undefined when there was no such document. */
  async deleteDocument(id: string): Promise<{ chunksDeleted: number } | undefined> {
    return this.db.transaction(async (tx) => {
      const [{ n }] = await tx.query<{ n: number | string }>(
        `SELECT count(*) AS n FROM knowledge_embeddings WHERE document_id = $1`,
        [id],
      );
      const deleted = await tx.query(`DELETE FROM knowledge_documents WHERE id = $1 RETURNING id`, [id]);
      return deleted.length === 0 ? undefined : { chunksDeleted: Number(n) };
    });
  }

  async countChunks(documentId?: string): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM knowledge_embeddings WHERE $1::uuid IS NULL OR document_id = $1`,
      [documentId ?? null],
    );
    return Number(n);
  }

  /**
   * The `topK` chunks nearest to the query vector by cosine distance (HNSW index, `efSearch`
   * candidates), among chunks of the same embedder whose metadata contains `filter`.
   */
  async search(search: KnowledgeSearch): Promise<KnowledgeHit[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [String(Math.max(search.efSearch, search.topK))]);
      if (search.filter && this.kdb.supportsIterativeScan) {
        // Keep walking the index until topK chunks pass the filter (pgvector 0.8+).
        await tx.query(`SELECT set_config('hnsw.iterative_scan', 'strict_order', true)`);
      }
      const params: unknown[] = [toVectorBinary(search.embedding), search.embedder, search.topK];
      if (search.filter) params.push(JSON.stringify(search.filter));
      const rows = await tx.query<HitRow>(
        `SELECT e.id, e.document_id, e.chunk_index, e.content, e.metadata, e.distance, d.title, d.source
           FROM (SELECT id, document_id, chunk_index, content, metadata, embedding <=> $1::vector AS distance
                   FROM knowledge_embeddings
                  WHERE embedder = $2 ${search.filter ? 'AND metadata @> $4::jsonb' : ''}
                  ORDER BY embedding <=> $1::vector
                  LIMIT $3) e
           JOIN knowledge_documents d ON d.id = e.document_id
          ORDER BY e.distance, e.id`,
        params,
      );
      return rows.map((r) => ({
        chunkId: r.id,
        documentId: r.document_id,
        chunkIndex: r.chunk_index,
        title: r.title,
        source: r.source,
        headings: Array.isArray(r.metadata.headings) ? (r.metadata.headings as string[]) : [],
        content: r.content,
        score: Math.round((1 - Number(r.distance)) * 1e6) / 1e6,
        metadata: r.metadata,
      }));
    });
  }
}
