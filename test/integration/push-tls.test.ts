import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { test } from 'node:test';
import { tempDir } from '../helpers/engine.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { selfSignedCertificate } from './mqtt-helpers.ts';

// An https endpoint on 127.0.0.1 with a certificate no system CA signs, which also asks for a
// client certificate: the push consumer must trust it only through `tls.ca` and present its own.

test('over https the push consumer trusts the endpoint through its custom CA and presents its client certificate', async () => {
  const { dir: serverDir, cleanup: cleanServer } = tempDir('sluice-push-tls-server-');
  const { dir: clientDir, cleanup: cleanClient } = tempDir('sluice-push-tls-client-');
  const server = selfSignedCertificate(serverDir);
  const client = selfSignedCertificate(clientDir);
  const serverPem = readFileSync(server.cert, 'utf8');
  const clientPem = readFileSync(client.cert, 'utf8');
  const seen: Array<{ body: string; clientCert: boolean }> = [];
  const endpoint = https.createServer(
    { cert: serverPem, key: readFileSync(server.key), ca: clientPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ body: Buffer.concat(chunks).toString(), clientCert: (req.socket as TLSSocket).authorized });
        res.writeHead(200).end();
      });
    },
  );
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(endpoint.address() as AddressInfo).port}/orders`;
  const { broker, cleanup } = await startTestBroker({
    queues: [
      { name: 'trusted', subscriptions: ['tls/trusted'] },
      { name: 'untrusted', subscriptions: ['tls/untrusted'] },
    ],
    push: [
      {
        name: 'trusted',
        queue: 'trusted',
        url,
        tls: { ca: serverPem, cert: clientPem, key: readFileSync(client.key, 'utf8') },
        retry: { initialDelayMs: 20, maxDelayMs: 100 },
      },
      { name: 'untrusted', queue: 'untrusted', url, retry: { initialDelayMs: 20, maxDelayMs: 100 } },
    ],
  });
  try {
    await broker.engine.publish({ topic: 'tls/trusted', payload: 'over-tls' });
    await broker.engine.publish({ topic: 'tls/untrusted', payload: 'must-not-arrive' });
    await waitFor(() => seen.length === 1, { what: 'the trusted delivery' });
    assert.deepEqual(seen, [{ body: 'over-tls', clientCert: true }]);
    const untrusted = async () =>
      (await broker.service.call('push.status', {})).pushConsumers.find((s) => s.name === 'untrusted')!;
    await waitFor(async () => (await untrusted()).retried > 0, { what: 'the untrusted attempt failed' });
    assert.match((await untrusted()).lastError?.message ?? '', /self[- ]signed|certificate/i);
    assert.equal(broker.engine.getQueue('untrusted').depth, 1, 'kept, to be retried');
    const [view] = (await broker.service.call('push.list', { queue: 'trusted' })).pushConsumers;
    assert.equal(view?.config.tls.key, '********', 'the client key is never shown back');
    assert.equal(view?.config.tls.cert, clientPem);
  } finally {
    await cleanup();
    await new Promise((resolve) => endpoint.close(resolve));
    cleanServer();
    cleanClient();
  }
});
