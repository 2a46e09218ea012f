// Loaded with `node --import` (through NODE_OPTIONS, so child processes get it too): makes the
// `electron` package unresolvable, as it is after `npm install` on a machine that cannot download
// Electron's binary (npm then drops the optional package). test/integration/offline-install.test.ts
// runs the build and the headless start under it, so a dependency on the package shows even on a
// machine where it is installed.
import { createRequire, register } from 'node:module';

const hidden = (specifier) => specifier === 'electron' || specifier.startsWith('electron/');

// ES module imports.
register(
  'data:text/javascript,' +
    encodeURIComponent(`
      export async function resolve(specifier, context, next) {
        if (specifier === 'electron' || specifier.startsWith('electron/')) {
          const error = new Error("Cannot find package 'electron' (hidden by test/helpers/hide-electron.mjs)");
          error.code = 'ERR_MODULE_NOT_FOUND';
          throw error;
        }
        return next(specifier, context);
      }`),
);

// CommonJS require() and require.resolve(), which electron-vite and start.mjs use.
const Module = createRequire(import.meta.url)('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden(request)) {
    const error = new Error(`Cannot find module '${request}' (hidden by test/helpers/hide-electron.mjs)`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolveFilename.call(this, request, ...rest);
};
