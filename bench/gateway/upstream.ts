/**
 * bench/gateway child process: the fake LLM provider on loopback with a fixed latency before every
 * answer (streams: before the first chunk), recording nothing. Reports its URL over IPC.
 */
import { FakeProviderServer } from '@hishamos/providers';

const latencyMs = Number(process.argv[2] ?? 50);
const apiKey = process.argv[3];

FakeProviderServer.start({ latencyMs, apiKey, maxRecorded: 0, chunkWords: 4 })
  .then((server) => {
    process.send?.({ url: server.url });
    process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
  })
  .catch((error: Error) => {
    process.stderr.write(`upstream failed: ${error.message}\n`);
    process.exit(1);
  });
