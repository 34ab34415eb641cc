import type { FastifyReply } from 'fastify';
import type { RunEventView } from '../usecases/shared/run-view';

const POLL_MS = 500;
const HEARTBEAT_MS = 15000;

/**
 * Writes a run's events as Server-Sent Events: everything after `after`, then new ones as they are
 * written (woken in-process, polling for other replicas' writes), then `event: end` once the run finished.
 */
export async function streamRunEvents(
  reply: FastifyReply,
  read: (after: string) => Promise<{ events: RunEventView[]; finished: boolean }>,
  opts: { after?: string; waitForNext: (ms: number) => Promise<void>; closing: () => boolean },
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  raw.on('close', () => {
    closed = true;
  });
  let cursor = opts.after ?? '0';
  let lastWrite = Date.now();
  raw.write(': stream of run events\n\n');
  try {
    while (!closed && !opts.closing()) {
      const { events, finished } = await read(cursor);
      for (const e of events) {
        raw.write(`id: ${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
        cursor = e.seq;
        lastWrite = Date.now();
      }
      if (finished) {
        raw.write(`event: end\ndata: {}\n\n`);
        break;
      }
      if (Date.now() - lastWrite > HEARTBEAT_MS) {
        raw.write(': ping\n\n');
        lastWrite = Date.now();
      }
      if (events.length === 0) await opts.waitForNext(POLL_MS);
    }
  } catch (error) {
    if (!closed) raw.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
  } finally {
    raw.end();
  }
}
