import type { Client } from 'pg';

/**
 * `COPY ... FROM STDIN` on a node-postgres client without pg-copy-streams: a submittable that answers
 * the server's CopyInResponse with the data in 64 KiB chunks, then CopyDone.
 */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyIn {
  constructor(
    private readonly text: string,
    private readonly data: Buffer,
    private readonly done: (error?: Error) => void,
  ) {}
  submit(connection: PgConnection): void {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: PgConnection): void {
    for (let i = 0; i < this.data.length; i += 65536) connection.sendCopyFromChunk(this.data.subarray(i, i + 65536));
    connection.endCopyFrom();
  }
  handleCommandComplete(): void {}
  handleReadyForQuery(): void {
    this.done(this.error);
  }
  private error?: Error;
  handleError(error: Error): void {
    this.error = error;
  }
}

export function copyIn(client: Client, sql: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const q = new CopyIn(sql, data, (e) => (e ? reject(e) : resolve()));
    (client as unknown as { query(q: unknown): void }).query(q);
  });
}

/** A value in COPY's text format. */
export function copyText(v: string | number | bigint | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
