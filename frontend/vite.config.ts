import { defineConfig } from 'vitest/config';

// The bridge (desk/gui/bridge) serves /api during `npm run dev`; the Wails window injects its own
// bindings and needs no proxy.
export default defineConfig({
  server: {
    proxy: { '/api': { target: process.env.BRIDGE_URL ?? 'http://127.0.0.1:34115', changeOrigin: true } },
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  test: { include: ['src/**/*.test.ts'], environment: 'node', globals: true },
});
