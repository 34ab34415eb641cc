import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsoleController } from './console.controller';
import type { ConsoleFile, ConsoleFiles } from './console-files';

class FakeReply {
  statusCode = 0;
  sent: unknown;
  readonly headersSet: Record<string, string> = {};
  status(code: number) {
    this.statusCode = code;
    return this;
  }
  header(name: string, value: string) {
    this.headersSet[name] = value;
    return this;
  }
  headers(values: Record<string, string>) {
    Object.assign(this.headersSet, values);
    return this;
  }
  type(value: string) {
    this.headersSet['content-type'] = value;
    return this;
  }
  async send(body: unknown) {
    this.sent = body;
  }
}

async function serve(file: ConsoleFile, url = '/console/') {
  const files = { get: jest.fn(async () => file) } as unknown as ConsoleFiles;
  const reply = new FakeReply();
  await new ConsoleController(files).asset({ url } as FastifyRequest, reply as unknown as FastifyReply);
  return { reply, files };
}

describe('ConsoleController', () => {
  it('answers 503 with how to build the console when it is not built', async () => {
    const { reply } = await serve({ kind: 'not-built' });
    expect(reply.statusCode).toBe(503);
    expect(reply.sent).toBe('console not built: run npm run console:build');
    expect(reply.headersSet['content-type']).toContain('text/plain');
  });

  it('answers 404 for a missing asset', async () => {
    const { reply } = await serve({ kind: 'not-found' }, '/console/assets/x.js');
    expect(reply.statusCode).toBe(404);
  });

  it('sends a file with its type, cache policy and the security headers', async () => {
    const body = Buffer.from('<html></html>');
    const { reply, files } = await serve(
      { kind: 'file', body, contentType: 'text/html; charset=utf-8', cacheControl: 'no-cache' },
      '/console/runs',
    );
    expect(files.get).toHaveBeenCalledWith('/console/runs');
    expect(reply.statusCode).toBe(200);
    expect(reply.sent).toBe(body);
    expect(reply.headersSet).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    });
    expect(reply.headersSet['content-security-policy']).toContain("frame-ancestors 'none'");
  });
});
