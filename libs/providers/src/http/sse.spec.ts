import { PassThrough } from 'node:stream';
import { SseDecoder, SseReader, type SseEvent } from './sse';

function decode(pieces: string[]): SseEvent[] {
  const d = new SseDecoder();
  const out: SseEvent[] = [];
  for (const p of pieces) d.push(p, out);
  d.end(out);
  return out;
}

describe('SseDecoder', () => {
  it('decodes events split anywhere, with any line ending, comments and multi-line data', () => {
    const wire =
      ': hi\n\ndata: {"a":1}\n\nevent: error\ndata:x\ndata: y\n\r\ndata: 3\r\rdata: 4\r\n\r\nid: 7\nretry: 5\ndata: 5\n\n';
    const expected = [
      { event: null, data: '{"a":1}' },
      { event: 'error', data: 'x\ny' },
      { event: null, data: '3' },
      { event: null, data: '4' },
      { event: null, data: '5' },
    ];
    expect(decode([wire])).toEqual(expected);
    // Every split point, including between \r and \n.
    for (let i = 1; i < wire.length; i++) expect(decode([wire.slice(0, i), wire.slice(i)])).toEqual(expected);
    expect(decode([...wire])).toEqual(expected);
  });

  it('flushes a last event that has no blank line after it', () => {
    expect(decode(['data: 1\n\ndata: [DONE]'])).toEqual([
      { event: null, data: '1' },
      { event: null, data: '[DONE]' },
    ]);
  });
});

describe('SseReader', () => {
  it('reads batches per arriving piece, decodes UTF-8 split across pieces, and ends with null', async () => {
    const source = new PassThrough();
    const reader = new SseReader(source);
    const bytes = Buffer.from('data: héllo\n\n');
    source.write('data: 1\n\ndata: 2\n\n');
    expect(await reader.read()).toEqual([
      { event: null, data: '1' },
      { event: null, data: '2' },
    ]);
    const next = reader.read();
    source.write(bytes.subarray(0, 8)); // splits the two bytes of é
    source.end(bytes.subarray(8));
    expect(await next).toEqual([{ event: null, data: 'héllo' }]);
    expect(await reader.read()).toBeNull();
  });

  it('fails when the stream errors or closes before its end', async () => {
    const failing = new PassThrough();
    const r1 = new SseReader(failing);
    const pending = r1.read();
    failing.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });

    const cut = new PassThrough();
    const r2 = new SseReader(cut);
    cut.destroy();
    await expect(r2.read()).rejects.toThrow(/premature close/);
  });

  it('close() ends a waiting read and destroys an unfinished stream; drain() keeps it flowing', async () => {
    const open = new PassThrough();
    const r1 = new SseReader(open);
    const waiting = r1.read();
    r1.close();
    expect(await waiting).toBeNull();
    expect(open.destroyed).toBe(true);

    const rest = new PassThrough();
    const r2 = new SseReader(rest);
    rest.write('data: [DONE]\n\n');
    await r2.read();
    r2.drain();
    const ended = new Promise((resolve) => rest.on('end', resolve));
    rest.end('data: more\n\n');
    await ended;
    expect(rest.readableEnded).toBe(true); // read to its end, not destroyed
  });
});
