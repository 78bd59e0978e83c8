import { defineConfig } from 'vite';

// Relative asset paths, so that the built page works from any folder or host.
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  worker: { format: 'es' },
});
