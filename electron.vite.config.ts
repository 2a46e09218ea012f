/**
 * electron-vite builds three bundles into out/: main (electron/main.ts, Node), preload
 * (electron/preload.ts, sandboxed so CommonJS) and the renderer (renderer/, a web app).
 * `npm run build` needs no Electron binary; `npm run serve` serves out/renderer to browsers.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;

// electron-vite takes Electron's major version (the main and preload build targets) from
// node_modules/electron/package.json, and npm drops that package when the binary download fails,
// as on an offline machine. The exact version pinned in package.json says the same without it.
const pinnedElectron = (
  JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { optionalDependencies: { electron: string } }
).optionalDependencies.electron;
process.env.ELECTRON_MAJOR_VER ??= pinnedElectron.split('.')[0];

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      lib: { entry: resolve(root, 'electron/main.ts'), formats: ['es'] },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot be an ES module (Electron docs: sandboxed preloads are CJS).
      lib: { entry: resolve(root, 'electron/preload.ts'), formats: ['cjs'] },
      rollupOptions: { output: { entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    // Relative asset URLs: the same build loads from file:// in Electron and from / over HTTP.
    base: './',
    plugins: [react()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rollupOptions: { input: resolve(root, 'renderer/index.html') },
      // Everything bundled (DESIGN.md: offline, no CDN); small assets inline.
      assetsInlineLimit: 8192,
    },
  },
});
