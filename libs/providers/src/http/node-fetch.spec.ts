import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BufferedResponse, createNodeFetch, nodeBodyOf, StreamedResponse } from './node-fetch';

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

  it('hands an event stream over as the Node stream once, and then its body is used', async () => {
    const res = await nodeFetch(`${url}/sse`);
    expect(res).toBeInstanceOf(StreamedResponse);
    const body = nodeBodyOf(res)!;
    let text = '';
    for await (const c of body) text += String(c);
    expect(text).toBe('data: 1\n\ndata: 2\n\n');
    expect(nodeBodyOf(res)).toBeUndefined();
    expect(res.bodyUsed).toBe(true);
    expect(res.body).toBeNull();
    await expect(res.text()).rejects.toThrow('Body is unusable');

    // Read as a web stream first: no Node stream to take any more.
    const web = await nodeFetch(`${url}/sse`);
    expect(await web.text()).toBe('data: 1\n\ndata: 2\n\n');
    expect(nodeBodyOf(web)).toBeUndefined();
    expect(nodeBodyOf(new Response('x'))).toBeUndefined();
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

  it('answers a whole JSON body as a Response that reads like a standard one', async () => {
    const res = await nodeFetch(`${url}/json`, { method: 'POST', body: 'x' });
    expect(res).toBeInstanceOf(Response);
    expect(res.ok).toBe(true);
    expect(res.bodyUsed).toBe(false);
    expect(await res.text()).toBe('{"method":"POST","body":"x"}');
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow('Body is unusable');
    await expect(res.json()).rejects.toThrow('Body is unusable');
    await expect(res.arrayBuffer()).rejects.toThrow('Body is unusable');
  });
});

describe('BufferedResponse', () => {
  const make = (text: string | Buffer, status = 200) =>
    new BufferedResponse(Buffer.isBuffer(text) ? text : Buffer.from(text), {
      status,
      statusText: 'OK',
      headers: { 'content-type': 'application/json' },
    });
  const standard = (text: string | Buffer, status = 200) =>
    new Response(text, { status, statusText: 'OK', headers: { 'content-type': 'application/json' } });

  it('reads as a standard Response does: text, json, bytes, a dropped BOM, a bad JSON', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"é"}')]);
    for (const body of ['{"a":1}', bom, Buffer.from([0x7b, 0xff, 0x7d])]) {
      expect(await make(body).text()).toBe(await standard(body).text());
      expect(new Uint8Array(await make(body).arrayBuffer())).toEqual(
        new Uint8Array(await standard(body).arrayBuffer()),
      );
      expect(await make(body).bytes()).toEqual(await standard(body).bytes());
    }
    expect(await make(bom).json()).toEqual({ a: 'é' });
    await expect(make('{nope').json()).rejects.toThrow(SyntaxError);
    const res = make('{}', 404);
    expect([res.status, res.ok, res.statusText, res.headers.get('content-type')]).toEqual([
      404,
      false,
      'OK',
      'application/json',
    ]);
  });

  it('hands out copies: changing what arrayBuffer returned changes nothing else', async () => {
    const bytes = Buffer.from('abc');
    const res = make(bytes);
    const a = new Uint8Array(await res.arrayBuffer());
    a[0] = 0x7a;
    expect(bytes.toString()).toBe('abc');
  });

  it('gives a standard body stream, clone and blob on demand, with one read in all', async () => {
    const res = make('{"a":1}');
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe('{"a":1}');
    reader.releaseLock();
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow('Body is unusable');

    const original = make('{"b":2}');
    const copy = original.clone();
    expect(await copy.json()).toEqual({ b: 2 });
    expect(await original.json()).toEqual({ b: 2 });
    await expect(original.json()).rejects.toThrow('Body is unusable');
    expect(await (await make('xyz').blob()).text()).toBe('xyz');

    const read = make('{}');
    await read.text();
    expect(read.body).not.toBeNull();
    expect(read.bodyUsed).toBe(true);
    await expect(read.blob()).rejects.toThrow('Body is unusable');
  });
});
