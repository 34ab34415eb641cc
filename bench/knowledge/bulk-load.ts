/**
 * Bulk loading for bench/knowledge: binary COPY straight into PGlite (`COPY ... FROM '/dev/blob'
 * WITH (FORMAT binary)`), which skips parsing 1536 decimal numbers per row in WASM — the cost
 * that dominates INSERT ... VALUES ('[...]'::vector) at 100 000 rows.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector as vectorExtension } from '@electric-sql/pglite-pgvector';
import { DIMENSIONS } from './corpus';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

class CopyWriter {
  private readonly parts: Buffer[] = [];

  constructor() {
    const header = Buffer.alloc(SIGNATURE.length + 8);
    SIGNATURE.copy(header, 0);
    this.parts.push(header); // flags = 0, header extension length = 0
  }

  row(fields: Buffer[]): void {
    const head = Buffer.alloc(2);
    head.writeInt16BE(fields.length);
    this.parts.push(head);
    for (const field of fields) {
      const length = Buffer.alloc(4);
      length.writeInt32BE(field.length);
      this.parts.push(length, field);
    }
  }

  finish(): Blob {
    const trailer = Buffer.alloc(2);
    trailer.writeInt16BE(-1);
    this.parts.push(trailer);
    return new Blob(this.parts);
  }
}

function uuidField(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function int4Field(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** pgvector's binary form (vector_recv): int16 dimensions, int16 unused, float4 values, big-endian. */
function vectorField(values: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * values.length);
  b.writeInt16BE(values.length, 0);
  b.writeInt16BE(0, 2);
  for (let i = 0; i < values.length; i++) b.writeFloatBE(values[i], 4 + 4 * i);
  return b;
}

/** jsonb's binary form: version 1, then the JSON text. */
function jsonbField(value: unknown): Buffer {
  return Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value))]);
}

export interface BulkLoadOptions {
  dataDir: string;
  schema: string;
  size: number;
  /** One knowledge_documents row per this many chunks (the chunks' foreign key). */
  documentIds: string[];
  perDocument: number;
  vector: (i: number) => number[];
  batch?: number;
  onProgress?: (loaded: number) => void;
}

/** COPYs `size` chunks into knowledge_embeddings of an existing (migrated) PGlite data directory. */
export async function bulkLoadChunks(options: BulkLoadOptions): Promise<void> {
  const pg = await PGlite.create({ dataDir: options.dataDir, extensions: { vector: vectorExtension } });
  try {
    await pg.exec(`SET search_path TO ${options.schema}, public`);
    const batch = options.batch ?? 2000;
    for (let start = 0; start < options.size; start += batch) {
      const writer = new CopyWriter();
      for (let i = start; i < Math.min(options.size, start + batch); i++) {
        const values = options.vector(i);
        if (values.length !== DIMENSIONS) throw new Error(`vector ${i} has ${values.length} dimensions`);
        writer.row([
          uuidField(options.documentIds[Math.floor(i / options.perDocument)]),
          Buffer.from('hashing'),
          int4Field(i),
          Buffer.from(`chunk ${i}`),
          vectorField(values),
          jsonbField({ bench: true, shard: i % 10 }),
        ]);
      }
      await pg.query(
        `COPY knowledge_embeddings (document_id, embedder, chunk_index, content, embedding, metadata)
           FROM '/dev/blob' WITH (FORMAT binary)`,
        [],
        { blob: writer.finish() },
      );
      options.onProgress?.(Math.min(options.size, start + batch));
    }
  } finally {
    await pg.close();
  }
}
