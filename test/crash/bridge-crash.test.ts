import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { tempDir } from '../helpers/engine.ts';
import { kill9, startChildScript } from '../helpers/process.ts';
import { peerSkip } from '../helpers/peers.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectMqtt, orderedWithRepeats, startMosquitto } from '../integration/bridge-helpers.ts';

// DESIGN.md durability contract, STYLE.md §13: the bridge runs in a child process with its
// engine; the upstream (Debian's Mosquitto) is down while the backlog is built, comes back, and
// the child is killed with SIGKILL twice in the middle of forwarding. Every message must reach
// the upstream, in order; repeats are allowed only as at-least-once redeliveries and are counted.

const total = 4000;
const window = 32; // bridge-child.ts crashWindow

function startChild(dir: string, url: string, count: number): Promise<{ child: ChildProcess; out: () => string }> {
  return startChildScript('test/crash/bridge-child.ts', [dir, url, String(count)], {
    what: 'bridge child ready',
    timeoutMs: 20_000,
  });
}

test(
  'a backlog built during an outage reaches Mosquitto complete and in order across two kill -9 of Sluice',
  { skip: peerSkip('mosquitto', 'mosquitto-clients') },
  async () => {
    const { dir, cleanup } = tempDir('sluice-bridge-crash-');
    const mosquitto = await startMosquitto();
    const received: string[] = [];
    const distinct = new Set<string>();
    let observer: MqttClient | null = null;
    const observe = async () => {
      observer = await connectMqtt(
        mosquitto.url,
        { clientId: 'crash-observer', clean: false, properties: { sessionExpiryInterval: 3600 } },
        (_topic, payload) => {
          received.push(payload.toString());
          distinct.add(payload.toString());
        },
      );
      await observer.subscribeAsync('up/#', { qos: 1 });
    };
    let child: ChildProcess | null = null;
    try {
      await observe();
      await mosquitto.stop();
      const outageStarted = Date.now();
      const first = await startChild(dir, mosquitto.url, total);
      child = first.child;
      await waitFor(() => first.out().includes('published'), { what: `${total} published`, timeoutMs: 30_000 });
      await mosquitto.start();
      const outageMs = Date.now() - outageStarted;
      (observer as MqttClient | null)?.end(true);
      await observe();

      await waitFor(() => distinct.size >= 1000, {
        what: () => `1000 upstream (${distinct.size} so far)`,
        timeoutMs: 60_000,
      });
      await kill9(child);
      const firstKillAt = distinct.size;
      child = (await startChild(dir, mosquitto.url, 0)).child;
      await waitFor(() => distinct.size >= 2500, {
        what: () => `2500 upstream (${distinct.size} so far)`,
        timeoutMs: 60_000,
      });
      await kill9(child);
      const secondKillAt = distinct.size;
      child = (await startChild(dir, mosquitto.url, 0)).child;
      // Generous bounds: on a loaded 2-core machine the restarts and forwarding slow down a lot.
      await waitFor(() => distinct.size === total, {
        what: () => `all ${total} upstream (${distinct.size} so far)`,
        timeoutMs: 90_000,
      });

      const sent = Array.from({ length: total }, (_, i) => `p${i}`);
      const repeats = orderedWithRepeats(received, sent);
      console.warn(
        `bridge crash: ${total} messages, outage ${outageMs} ms, kills at ${firstKillAt} and ${secondKillAt}, ` +
          `${repeats} repeats`,
      );
      // Only what was in flight (at most one window) can be sent again after each kill.
      assert.ok(repeats <= 2 * window, `${repeats} repeats for 2 kills with a window of ${window}`);
    } finally {
      (observer as MqttClient | null)?.end(true);
      if (child) await kill9(child);
      await mosquitto.cleanup();
      cleanup();
    }
  },
);
