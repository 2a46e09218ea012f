/**
 * Serves the renderer build (out/renderer) over the HTTP door, so `sluice serve` gives a browser
 * the same UI the Electron window shows. Only files below the root are ever read: the path is
 * decoded once, normalised, and refused if it would leave the root (no directory traversal).
 * Paths without a file extension fall back to index.html (the app routes on the client).
 */
import { createReadStream, existsSync, statSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { resources } from '../../resources.ts';
import type { StaticFiles } from './server.ts';

/** Content types of what a Vite build emits; anything else is served as bytes. */
const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** The renderer build (`npm run build` writes it; core/resources.ts knows where it is in each layout). */
export const defaultUiDir = resources().uiDir;

/** Serves files below `rootDir`; the answer is false (fall through to 404) for anything else. */
export function createStaticFiles(rootDir: string): StaticFiles {
  const root = resolve(rootDir);
  return async (req, res) => {
    const pathname = safePathname(req.url ?? '/');
    if (pathname === undefined || pathname.startsWith('/api/')) return false;
    const file = resolve(join(root, pathname));
    if (file !== root && !file.startsWith(root + sep)) return false;
    const found = fileAt(file);
    if (found) return send(req, res, file, found);
    // Client-side routes have no extension; a missing asset is a real 404.
    if (extname(pathname) !== '') return false;
    const index = join(root, 'index.html');
    const indexStats = fileAt(index);
    return indexStats ? send(req, res, index, indexStats) : false;
  };
}

/** The UI's static files when a build exists at `dir`, else undefined (the API still runs). */
export function uiStaticFiles(dir: string = defaultUiDir): StaticFiles | undefined {
  return existsSync(join(dir, 'index.html')) ? createStaticFiles(dir) : undefined;
}

/** The decoded path, or undefined when it cannot name a file (bad escapes, NUL, backslashes). */
function safePathname(target: string): string | undefined {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(target, 'http://sluice.invalid').pathname);
  } catch {
    return undefined;
  }
  // A backslash is a separator on Windows: refusing it keeps `..\` from climbing out there.
  if (pathname.includes('\0') || pathname.includes('\\')) return undefined;
  return pathname.endsWith('/') ? `${pathname}index.html` : pathname;
}

function fileAt(path: string): Stats | undefined {
  try {
    const stats = statSync(path);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

function send(req: IncomingMessage, res: ServerResponse, file: string, stats: Stats): Promise<boolean> {
  const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'content-type': contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream',
    // Vite puts content hashes in asset names: those never change; index.html must be revalidated.
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return Promise.resolve(true);
  }
  res.writeHead(200, { ...headers, 'content-length': stats.size });
  if (req.method === 'HEAD') {
    res.end();
    return Promise.resolve(true);
  }
  return new Promise((done) => {
    createReadStream(file)
      .on('error', () => res.destroy())
      .on('close', () => done(true))
      .pipe(res);
  });
}
