/**
 * What the soak knows for certain: every message a broker acknowledged to a publisher (PUBACK /
 * PUBCOMP, AMQP `accepted`, HTTP 201), every copy each consumer got, and the latencies. At the end
 * each sink's acknowledged messages must all be found: consumed, still queued, or dead with a reason.
 */
import { topicMatches } from '../../core/schema/topic.ts';

/** The protocols whose publishes are tracked. */
export type PublishProtocol = 'mqtt311' | 'mqtt5' | 'amqp' | 'http';

/** One message the broker acknowledged to its publisher. */
export interface AckedMessage {
  readonly publisher: string;
  readonly protocol: PublishProtocol;
  readonly topic: string;
  readonly sentAt: number;
}

/** A consumer-side place acknowledged messages must reach, with the topics it collects. */
export interface Sink {
  readonly name: string;
  /** Topic filter of the messages it must account for. */
  readonly filter: string;
  /** The engine queue behind it, browsed for what is still waiting at the end. */
  readonly queue: string;
  /** Message id → copies received (more than 1: a redelivery, allowed at least once). */
  readonly received: Map<string, number>;
}

/** The body every soak publisher sends: its id and send time, padded to about 200 bytes. */
export function soakPayload(id: string, sentAt = Date.now()): string {
  const head = JSON.stringify({ id, t: sentAt, pad: '' });
  return JSON.stringify({ id, t: sentAt, pad: 'x'.repeat(Math.max(0, 200 - head.length)) });
}

/** Reads a soak payload back; undefined for anything else. */
export function parseSoakPayload(text: string): { id: string; t: number } | undefined {
  try {
    const value = JSON.parse(text) as { id?: unknown; t?: unknown };
    return typeof value.id === 'string' && typeof value.t === 'number' ? { id: value.id, t: value.t } : undefined;
  } catch {
    return undefined;
  }
}

/** A point in a time series: ms since the soak started, and a value. */
export interface Point {
  readonly at: number;
  readonly value: number;
}

export class Ledger {
  readonly acked = new Map<string, AckedMessage>();
  readonly sinks = new Map<string, Sink>();
  /** Acknowledged publishes per protocol, as times (ms since start), for throughput. */
  readonly ackTimes = new Map<PublishProtocol, number[]>();
  /** End-to-end latency samples per consumer protocol. */
  readonly latency = new Map<string, Point[]>();
  /** Publishes the broker refused or that failed (not acknowledged, so not owed). */
  refused = 0;

  constructor(readonly startedAt: number) {}

  now(): number {
    return Date.now() - this.startedAt;
  }

  sink(name: string, filter: string, queue: string): Sink {
    const sink: Sink = { name, filter, queue, received: new Map() };
    this.sinks.set(name, sink);
    return sink;
  }

  ack(id: string, message: AckedMessage): void {
    this.acked.set(id, message);
    let times = this.ackTimes.get(message.protocol);
    if (!times) this.ackTimes.set(message.protocol, (times = []));
    times.push(this.now());
  }

  /** A consumer got a copy of a soak message; `via` names the consumer protocol for latency. */
  received(sink: Sink | undefined, payload: string, via: string): void {
    const parsed = parseSoakPayload(payload);
    if (!parsed) return;
    if (sink) sink.received.set(parsed.id, (sink.received.get(parsed.id) ?? 0) + 1);
    let points = this.latency.get(via);
    if (!points) this.latency.set(via, (points = []));
    points.push({ at: this.now(), value: Date.now() - parsed.t });
  }

  /** The acknowledged ids a sink owes: those whose topic its filter matches. */
  owed(sink: Sink): string[] {
    const ids: string[] = [];
    for (const [id, message] of this.acked) if (topicMatches(sink.filter, message.topic)) ids.push(id);
    return ids;
  }
}
