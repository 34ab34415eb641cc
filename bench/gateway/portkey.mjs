// bench/gateway child process: Portkey's open-source gateway (@portkey-ai/gateway's own node start
// script, build/start-server.js) bound to 127.0.0.1 on an ephemeral port. Its script listens on every
// interface at --port; this wrapper makes every server it creates listen on loopback, port 0, and
// reports the port over IPC.
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  const callback = args.find((a) => typeof a === 'function');
  this.once('listening', () => process.send?.({ port: this.address().port }));
  return listen.call(this, { port: 0, host: '127.0.0.1' }, callback);
};
// Portkey 1.15.2's streaming path appends x-portkey-* headers to the upstream fetch() Response, whose
// headers Node's fetch makes immutable ("TypeError: immutable" -> HTTP 500 for every stream). Hand it a
// Response with a mutable copy of the headers around the same body stream (nothing is buffered).
const nativeFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await nativeFetch(...args);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
process.on('disconnect', () => process.exit(0));
const require = createRequire(import.meta.url);
const pkg = dirname(require.resolve('@portkey-ai/gateway/package.json'));
process.argv.push('--port=0', '--headless');
await import(join(pkg, 'build', 'start-server.js'));
