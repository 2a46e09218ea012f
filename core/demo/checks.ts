/**
 * A scenario's checks (docs/demo.md: `expect` steps): each compares what the run counted with
 * what the broker reports through the API, and answers a label, pass, expected and actual — the
 * lines the Demo view and `sluice demo` show.
 */
import type { MqttActor } from './actors.ts';
import type { BridgeView, Processed, Published, ServiceCall } from './run-state.ts';
import type { ScenarioActor, ScenarioCheck } from './scenario-schema.ts';

/** One check's result. */
export interface CheckResult {
  readonly label: string;
  readonly pass: boolean;
  readonly expected: string;
  readonly actual: string;
}

/** What a check reads from the run it belongs to. */
export interface CheckSubject {
  /** Runs an API operation as the host (queue depth, dead messages). */
  readonly call: ServiceCall;
  actor(id: string): ScenarioActor;
  publishedBy(id: string): Published;
  processedBy(id: string): Processed;
  mqtt(id: string): MqttActor;
  queueName(local: string): string;
  /** A bridge's status, its forwarded baseline noted on first sight. */
  bridgeStatus(name: string): Promise<BridgeView>;
  /** The bridge's `forwarded` counter when the run first looked at it. */
  forwardedAtStart(name: string): number;
}

/** Evaluates one check against the run and the broker. */
export async function evaluateCheck(check: ScenarioCheck, subject: CheckSubject): Promise<CheckResult> {
  switch (check.check) {
    case 'received': {
      const label = subject.actor(check.actor).label;
      const seqs = subject.processedBy(check.actor).seqs;
      const inRange = check.fromSeq === undefined ? seqs : seqs.filter((seq) => seq >= check.fromSeq!);
      const expectedCount =
        check.count ??
        (check.equalsPublishedBy
          ? subject.publishedBy(check.equalsPublishedBy).seq - (check.fromSeq ?? 1) + 1
          : inRange.length);
      const ordered = inRange.every((seq, i) => i === 0 || seq > inRange[i - 1]!);
      const before = check.fromSeq === undefined ? 0 : seqs.length - inRange.length;
      const parts = [`${inRange.length} processed`];
      if (check.inOrder) parts.push(ordered ? 'in order' : 'OUT OF ORDER');
      if (check.fromSeq !== undefined)
        parts.push(`first #${inRange[0] ?? '-'}, last #${inRange[inRange.length - 1] ?? '-'}`);
      if (check.nothingBefore) parts.push(`${before} from before #${check.fromSeq}`);
      return {
        label: `${label} processed every message${check.inOrder ? ', in order' : ''}${check.fromSeq !== undefined ? ` from #${check.fromSeq}` : ''}`,
        pass: inRange.length === expectedCount && (!check.inOrder || ordered) && (!check.nothingBefore || before === 0),
        expected: [
          `${expectedCount} processed`,
          ...(check.inOrder ? ['in order'] : []),
          ...(check.nothingBefore ? [`0 from before #${check.fromSeq}`] : []),
        ].join(', '),
        actual: parts.join(', '),
      };
    }
    case 'depth': {
      const queue = subject.queueName(check.queue);
      const info = await subject.call('queues.get', { name: queue });
      const expected = check.depth ?? subject.publishedBy(check.equalsPublishedBy!).seq;
      return {
        label: expected === 0 ? `${queue} is empty` : `${queue} holds the backlog`,
        pass: info.depth === expected,
        expected: `depth ${expected}`,
        actual: `depth ${info.depth}`,
      };
    }
    case 'dead': {
      const queue = subject.queueName(check.queue);
      const dead = (await subject.call('dmq.list', { queue, limit: 1000 })).deadMessages;
      const bad = dead.filter(
        (d) =>
          (check.reason !== undefined && d.reason !== check.reason) ||
          (check.deliveryCount !== undefined && d.deliveryCount !== check.deliveryCount) ||
          (check.errorIncludes !== undefined && !(d.error ?? '').includes(check.errorIncludes)),
      );
      const first = dead[0];
      const expected = [
        `${check.count} dead`,
        ...(check.reason ? [`reason ${check.reason}`] : []),
        ...(check.deliveryCount !== undefined ? [`${check.deliveryCount} deliveries`] : []),
        ...(check.errorIncludes ? [`error “${check.errorIncludes}…”`] : []),
      ].join(', ');
      const actual = first
        ? `${dead.length} dead, reason ${first.reason}, ${first.deliveryCount} deliveries, error “${first.error ?? '-'}”`
        : '0 dead';
      return { label: `DMQ for ${queue}`, pass: dead.length === check.count && bad.length === 0, expected, actual };
    }
    case 'retained': {
      const subscriber = subject.mqtt(check.actor);
      const sent = subject.publishedBy(check.publisher).retained;
      const seen = new Map(subscriber.received.filter((m) => m.retained).map((m) => [m.topic, m.payload]));
      const restored = [...sent].filter(([topic, payload]) => seen.get(topic) === payload).length;
      return {
        label: `${subject.actor(check.actor).label} got the last value of every tag (retained)`,
        pass: sent.size > 0 && restored === sent.size,
        expected: `${sent.size} last value(s)`,
        actual: `${restored} of ${sent.size} restored`,
      };
    }
    case 'backlog': {
      const subscriber = subject.mqtt(check.actor);
      const expected = subject.processedBy(check.actor).awayPublished?.get(check.equalsPublishedBy) ?? 0;
      const got = backlogFrom(subscriber, subject.publishedBy(check.equalsPublishedBy));
      return {
        label: `${subject.actor(check.actor).label} received what was sent while it was away`,
        pass: got === expected && expected > 0,
        expected: `${expected} queued message(s)`,
        actual: `${got} delivered on reconnect (session present: ${subscriber.sessionPresent})`,
      };
    }
    case 'bridge': {
      const bridge = await subject.bridgeStatus(check.bridge);
      const forwarded = bridge.forwarded - subject.forwardedAtStart(check.bridge);
      const published = check.forwardedPublishedBy ? subject.publishedBy(check.forwardedPublishedBy).seq : undefined;
      const expected: string[] = [];
      let pass = true;
      if (check.backlogAtLeast !== undefined) {
        expected.push(`backlog ≥ ${check.backlogAtLeast}`);
        pass &&= bridge.backlog >= check.backlogAtLeast;
      }
      if (check.backlog !== undefined) {
        expected.push(`backlog ${check.backlog}`);
        pass &&= bridge.backlog === check.backlog;
      }
      if (published !== undefined) {
        expected.push(`≥ ${published} forwarded`);
        pass &&= forwarded >= published;
      }
      return {
        label: `Bridge ${bridge.name} to ${bridge.upstream}`,
        pass,
        expected: expected.join(', '),
        actual: `backlog ${bridge.backlog}, ${forwarded} forwarded in this run, ${bridge.connected ? 'connected' : bridge.state}`,
      };
    }
  }
}

/** Queued (not retained) messages a subscriber got since reconnecting, on the publisher's topics. */
export function backlogFrom(subscriber: MqttActor, publisher: Published): number {
  return subscriber.received.filter((m) => !m.retained && publisher.topics.has(m.topic)).length;
}
