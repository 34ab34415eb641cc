import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeFetch } from './node-fetch';

describe('createNodeFetch', () => {
  let server: Server;
  let url: string;
  const nodeFetch = createNodeFetch();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/json') {
          res.writeHead(201, { 'content-type': 'application/json', 'x-echo': String(req.headers['x-test']) });
          res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString() }));
        } else if (req.url === '/sse') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: 1\n\n');
          setTimeout(() => res.end('data: 2\n\n'), 20);
        } else if (req.url === '/slow') {
          setTimeout(() => res.end('late'), 2000).unref();
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('sends method, headers and body and returns a standard Response', async () => {
    const res = await nodeFetch(`${url}/json`, { method: 'POST', headers: { 'x-test': 'yes' }, body: '{"a":1}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(await res.json()).toEqual({ method: 'POST', body: '{"a":1}' });
    expect((await nodeFetch(`${url}/empty`)).status).toBe(204);
  });

  it('streams event streams as they arrive', async () => {
    const res = await nodeFetch(`${url}/sse`);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('data: 1\n\n');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('data: 2\n\n');
  });

  it('aborts with an AbortError, and reports a refused connection as fetch failed', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(nodeFetch(`${url}/slow`, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(nodeFetch('http://127.0.0.1:1/x')).rejects.toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
    });
  });
});
