/** The UI's static files over HTTP: MIME types, SPA fallback, caching, and no way out of the root. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createStaticFiles, uiStaticFiles } from '../../core/protocols/http/static-files.ts';
import { tempDir } from '../helpers/engine.ts';

describe('static files', () => {
  const { dir, cleanup } = tempDir('sluice-static-');
  const root = join(dir, 'renderer');
  let server: Server;
  let base: string;

  before(async () => {
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Sluice</title>');
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'style-abc123.css'), 'body{}');
    writeFileSync(join(dir, 'secret.txt'), 'not for the web');
    const files = createStaticFiles(root);
    server = createServer((req, res) => {
      void files(req, res).then((served) => {
        if (!served) res.writeHead(404).end('fell through');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    cleanup();
  });

  /** Raw GET: fetch would normalise `..` away before it reaches the server. */
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      httpGet({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });

  test('index.html is served at / with an HTML type and revalidated on every load', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(await res.text(), /<title>Sluice<\/title>/);
  });

  test('hashed assets get their MIME type and are cached for good', async () => {
    const js = await fetch(`${base}/assets/index-abc123.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    const css = await fetch(`${base}/assets/style-abc123.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  });

  test('a client-side route falls back to index.html; a missing asset does not', async () => {
    const route = await fetch(`${base}/queues/orders`);
    assert.equal(route.status, 200);
    assert.match(await route.text(), /<title>Sluice/);
    assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${base}/api/v1/unknown`)).status, 404);
  });

  test('a repeat request with the ETag is answered 304 without a body', async () => {
    const first = await fetch(`${base}/assets/index-abc123.js`);
    const etag = first.headers.get('etag')!;
    const again = await get('/assets/index-abc123.js', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
  });

  test('no path leaves the root, however it is encoded', async () => {
    for (const path of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%00index.html',
    ]) {
      const res = await get(path);
      assert.ok(!res.body.includes('not for the web'), `${path} must not serve the secret`);
    }
  });

  test('without a build there is nothing to serve, and the broker runs its API alone', () => {
    assert.equal(uiStaticFiles(join(dir, 'no-build-here')), undefined);
    assert.ok(uiStaticFiles(root));
  });
});
