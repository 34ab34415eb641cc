import { resolve } from 'node:path';
import react from '@vitejs/plugin-react-swc';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/**
 * The admin console: built into ./dist and served by the gateway at /console (ConsoleModule).
 * `vite build --config services/agent-gateway/console/vite.config.ts` (npm run console:build).
 */
export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  // `vite dev` against a gateway on :8080 (make run): the API is proxied so the console's relative /v1 paths work.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
