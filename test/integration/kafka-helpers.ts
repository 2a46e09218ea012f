// A real Kafka-protocol broker for the Kafka bridge tests: librdkafka's mock cluster, run by
// test/helpers/kafka-mock-cluster.py under Debian's /usr/bin/python3 (python3-confluent-kafka),
// on a loopback port, data in memory. Read back and produce with kafkajs, a separate client.
import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { waitFor } from '../helpers/wait.ts';
import { peerSkip } from '../helpers/peers.ts';

const python = '/usr/bin/python3';
const script = 'test/helpers/kafka-mock-cluster.py';

/** Why the Kafka suites cannot run here (Debian's python3-confluent-kafka missing), or undefined. */
export const kafkaUnavailable = (): string | undefined => peerSkip('confluent-kafka');

/** The mock cluster process: one broker on 127.0.0.1. */
export interface KafkaMock {
  /** `host:port` to bootstrap from. */
  readonly bootstrap: string;
  /** Creates a topic with this many partitions. */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Makes metadata for the topic answer a Kafka error code (3: UNKNOWN_TOPIC_OR_PARTITION). */
  topicError(name: string, code: number): Promise<void>;
  /** The broker closes every connection and refuses new ones; its data is kept. */
  down(): Promise<void>;
  /** The broker takes connections again. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKafkaMock(): Promise<KafkaMock> {
  const child: ChildProcess = spawn(python, [script], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor(() => /^bootstrap \S+$/m.test(out) || child.exitCode !== null, {
    what: 'kafka mock cluster listening',
    timeoutMs: 15_000,
  });
  const match = /^bootstrap (\S+)$/m.exec(out);
  if (!match) throw new Error(`kafka mock cluster did not start (exit ${child.exitCode})`);
  let acks = 0;
  const command = async (line: string) => {
    const expected = ++acks;
    child.stdin!.write(`${line}\n`);
    await waitFor(() => (out.match(/^ok /gm)?.length ?? 0) >= expected, { what: `mock: ${line}`, timeoutMs: 5000 });
  };
  return {
    bootstrap: match[1]!,
    createTopic: (name, partitions) => command(`topic ${name} ${partitions}`),
    topicError: (name, code) => command(`topic-error ${name} ${code}`),
    down: () => command('down'),
    up: () => command('up'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One record as a test reads it back from Kafka. */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string | null;
  readonly value: string;
  readonly headers: { [name: string]: string };
}

function headerText(headers: IHeaders | undefined): { [name: string]: string } {
  const text: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(headers ?? {}))
    if (value !== undefined) text[name] = (Array.isArray(value) ? value[0]! : value).toString();
  return text;
}

function client(bootstrap: string, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
}

/** Reads every record of the topics from the beginning with its own consumer group, in arrival order. */
export async function kafkaCollect(
  bootstrap: string,
  topics: string[],
): Promise<{ records: KafkaRecord[]; stop: () => Promise<void> }> {
  const consumer: Consumer = client(bootstrap, 'test-reader').consumer({
    groupId: `test-reader-${Math.random().toString(36).slice(2)}`,
    maxWaitTimeInMs: 200,
  });
  const records: KafkaRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      records.push({
        topic,
        partition,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers: headerText(message.headers),
      });
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Produces records with acks=all, in order. */
export async function kafkaProduce(
  bootstrap: string,
  topic: string,
  messages: Array<{ key?: string; value: string; headers?: { [name: string]: string } }>,
): Promise<void> {
  const producer = client(bootstrap, 'test-writer').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Checks records read back per key: after dropping repeats, each key's values are exactly the
 * sent ones in order. Returns the number of repeats.
 */
export function orderedPerKey(records: readonly KafkaRecord[], sent: ReadonlyMap<string, readonly string[]>): number {
  const seen = new Set<string>();
  const firsts = new Map<string, string[]>();
  let repeats = 0;
  for (const record of records) {
    if (seen.has(record.value)) {
      repeats++;
      continue;
    }
    seen.add(record.value);
    const key = record.key ?? '';
    firsts.set(key, [...(firsts.get(key) ?? []), record.value]);
  }
  for (const [key, values] of sent) {
    const got = firsts.get(key) ?? [];
    const at = values.findIndex((value, i) => got[i] !== value);
    if (at !== -1 || got.length !== values.length)
      throw new Error(
        `key ${key}: order differs at ${at}: got ${got[at]} expected ${values[at]} (${got.length} of ${values.length})`,
      );
  }
  return repeats;
}
