// Issue 16, item 6: brute force. Failures are counted before the slow path (30 parallel guesses
// are not 30 free ones); the slowdown is per (user, address), so failures from elsewhere do not
// make the user's own login wait; AMQP passes the client address; throttling shows in the audit
// log and in /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { closeConnection, connect as connectAmqp } from './amqp-helpers.ts';
import { basic, limitedPassword, startSecuredBroker } from './security-helpers.ts';

describe('security: brute force', () => {
  let broker: Broker;
  let base: string;
  let amqpPort: number;
  let mqttUrl: string;
  let cleanup: () => Promise<void>;
  let adminToken: string;
  before(async () => {
    ({ broker, amqpPort, mqttUrl, cleanup } = await startSecuredBroker({
      security: { bruteForce: { freeAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 } },
    }));
    base = broker.httpUrl;
    adminToken = broker.security.issueToken('admin').token; // a token: Basic would log in on every scrape
  });
  after(() => cleanup());

  const metric = async (name: string): Promise<number> => {
    const response = await fetch(`${base}/metrics`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const text = await response.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} in /metrics`);
    return Number(line.split(' ')[1]);
  };
  const loginDetails = async (user: string) =>
    (await broker.service.call('audit.list', { operation: 'login', user, limit: 1000 })).records.map(
      (r) => r.detail ?? '',
    );

  it('30 parallel wrong passwords are each counted before the wait: all but the free attempts are throttled', async () => {
    const throttledBefore = await metric('sluice_login_throttled_total');
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: basic('limited', 'guess') } }).then(
          (r) => r.status,
        ),
      ),
    );
    assert.deepEqual(new Set(answers), new Set([401]));
    const details = await loginDetails('limited');
    assert.equal(details.length, 30);
    assert.equal(details.filter((d) => /throttled \d+ ms/.test(d)).length, 27, 'every attempt after the 3 free ones');
    assert.equal((await metric('sluice_login_throttled_total')) - throttledBefore, 27);
    assert.ok((await metric('sluice_login_failures_total')) >= 30);
  });

  it('16 devices logging in at once with the right password (a gateway after a restart) all connect, none throttled', async () => {
    const throttledBefore = await metric('sluice_login_throttled_total');
    const clients = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        mqtt.connectAsync(mqttUrl, {
          clientId: `gateway-device-${i}`,
          username: 'admin',
          password: broker.firstRunAdmin!.password,
          reconnectPeriod: 0,
          connectTimeout: 20_000,
        }),
      ),
    );
    try {
      assert.equal(clients.filter((client) => client.connected).length, 16);
      assert.equal(await metric('sluice_login_throttled_total'), throttledBefore, 'nobody waited');
    } finally {
      await Promise.all(clients.map((client) => client.endAsync()));
    }
  });

  it("failures for a user from another address do not make the user's own login wait", async () => {
    // The attacker's address is simulated at the policy (every test socket comes from 127.0.0.1).
    for (let i = 0; i < 10; i++)
      await assert.rejects(
        broker.security.authenticate({ protocol: 'http', username: 'admin', password: 'guess', address: '192.0.2.7' }),
      );
    const throttledBefore = await metric('sluice_login_throttled_total');
    const response = await fetch(`${base}/api/v1/auth/whoami`, {
      headers: { authorization: basic('admin', broker.firstRunAdmin!.password) },
    });
    assert.equal(response.status, 200);
    assert.equal(await metric('sluice_login_throttled_total'), throttledBefore, 'the admin did not wait');
  });

  it('a failed AMQP login is recorded with the client address, so AMQP logins do not share one record', async () => {
    await assert.rejects(connectAmqp(amqpPort, { username: 'limited', password: 'wrong over amqp' }));
    const { records } = await broker.service.call('audit.list', { operation: 'login', user: 'limited', limit: 1000 });
    const amqp = records.filter((r) => r.protocol === 'amqp');
    assert.equal(amqp.length, 1);
    assert.equal(amqp[0]!.address, '127.0.0.1');
    const ok = await connectAmqp(amqpPort, { username: 'limited', password: limitedPassword });
    await closeConnection(ok);
  });
});
