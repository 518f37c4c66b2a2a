import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The app talks to examples/server. `npm run dev` proxies the API, the edge muxer's Worker and Service Worker
// and the libav.js files to it (start it with `npm run demo -w @nexstream/example-server`, port 8080).
const server = process.env.NEXSTREAM_SERVER_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  // Workspace packages are bundled from their TypeScript sources: no stale dist/ in the app.
  resolve: { conditions: ['@nexstream/source', 'browser', 'module', 'import', 'default'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      '/api': { target: server, changeOrigin: false },
      '/edge-muxer': server,
      '/libav': server,
      '/nexstream-sw.js': server,
    },
  },
});
