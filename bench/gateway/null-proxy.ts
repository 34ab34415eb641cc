/**
 * bench/gateway child process: the least any gateway can add on this machine — a pass-through HTTP
 * proxy in plain node:http (keep-alive to the upstream, request and response piped unchanged, no
 * parsing, no auth, no accounting). Its overhead over the direct call is the cost of one more loopback
 * hop and one more Node process handling the request: the floor under every gateway's figure here.
 * Reports its port over IPC.
 */
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });

const server = createServer((req, res) => {
  const out = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent,
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502);
    res.end(e.message);
  });
  req.pipe(out);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
