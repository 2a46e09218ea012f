import rhea, {
  type Connection,
  type ConnectionOptions,
  type Delivery,
  type EventContext,
  type Message as AmqpMessage,
  type Receiver,
  type Sender,
} from 'rhea';
import type { AmqpUpstreamConfig, BridgeConfig } from '../schema/bridge-config.ts';
import {
  UpstreamError,
  once,
  pem,
  toUpstreamError,
  type InboundMessage,
  type OutboundMessage,
  type Upstream,
  type UpstreamContext,
  type UpstreamHandlers,
  type UpstreamSession,
} from './upstream.ts';

// The one boundary where rhea's events become promises (STYLE.md §11). Sluice's own AMQP listener
// lives in core/protocols/amqp; this is a client of someone else's broker.

/** Conditions that mean "not with these credentials / not allowed" (AMQP 1.0 §2.8.15). */
const authConditions = new Set(['amqp:unauthorized-access', 'amqp:not-allowed']);
/** The sender rejects these for this message alone; anything else ends the connection and is retried. */
const permanentConditions = new Set([
  'amqp:unauthorized-access',
  'amqp:invalid-field',
  'amqp:decode-error',
  'amqp:link:message-size-exceeded',
  'amqp:not-allowed',
]);
/** The application property carrying the subject's topic when the upstream rewrites subjects. */
const topicProperty = 'sluice-topic';

/** An AMQP 1.0 upstream reached with rhea as a client. */
export function amqpUpstream(context: UpstreamContext): Upstream {
  const upstream = context.config.upstream as AmqpUpstreamConfig;
  const scheme = context.config.tls.enabled ? 'amqps' : 'amqp';
  return {
    address: `${scheme}://${upstream.host}:${upstream.port}`,
    connect: (handlers) => connectAmqp(upstream, context, handlers),
  };
}

async function connectAmqp(
  upstream: AmqpUpstreamConfig,
  { config, brokerId }: UpstreamContext,
  handlers: UpstreamHandlers,
): Promise<UpstreamSession> {
  const container = rhea.create_container({ id: `sluice-${brokerId.slice(0, 8)}-${config.name}` });
  const { tls } = config;
  const options = {
    host: upstream.host,
    port: upstream.port,
    reconnect: false,
    idle_time_out: 30_000,
    ...(upstream.virtualHost !== undefined && { hostname: upstream.virtualHost }),
    ...(config.credentials && { username: config.credentials.username, password: config.credentials.password }),
    ...(tls.enabled && {
      transport: 'tls' as const,
      ca: pem(tls.ca),
      cert: pem(tls.cert),
      key: pem(tls.key),
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.servername !== undefined && { servername: tls.servername }),
    }),
  } as ConnectionOptions;
  const connection = container.connect(options);
  await new Promise<void>((resolve, reject) => {
    const fail = once((error: UpstreamError) => {
      connection.removeAllListeners();
      connection.on('error', () => {});
      connection.on('disconnected', () => {});
      destroy(connection);
      reject(error);
    });
    connection.once('connection_open', () => {
      connection.removeAllListeners();
      resolve();
    });
    connection.on('connection_error', (context: EventContext) => fail(classify(context.error)));
    connection.on('connection_close', (context: EventContext) =>
      fail(context.error ? classify(context.error) : new UpstreamError('network', 'upstream closed the connection')),
    );
    connection.on('disconnected', (context: EventContext) =>
      fail(toUpstreamError(context.error ?? new Error(`cannot reach ${upstream.host}:${upstream.port}`))),
    );
    connection.on('error', (error: unknown) => fail(classify(error)));
  });
  return new AmqpSession(connection, config, upstream, handlers);
}

function classify(error: unknown): UpstreamError {
  const condition = (error as { condition?: unknown } | undefined)?.condition;
  const description =
    (error as { description?: unknown } | undefined)?.description ?? (error as Error | undefined)?.message;
  const text = `${typeof condition === 'string' ? `${condition}: ` : ''}${String(description ?? 'connection failed')}`;
  if (typeof condition === 'string' && authConditions.has(condition))
    return new UpstreamError('auth', `upstream refused the connection: ${text}`);
  if (typeof condition === 'string') return new UpstreamError('protocol', text);
  return toUpstreamError(error ?? new Error(text));
}

/** rhea's own timers; one left armed after a failed connection keeps Node alive for 2 × idle_time_out. */
interface RheaTimers {
  heartbeat_in?: NodeJS.Timeout;
  heartbeat_out?: NodeJS.Timeout;
  abort_idle?: NodeJS.Timeout;
  socket?: { destroy(): void; destroyed?: boolean };
}

function destroy(connection: Connection): void {
  const internals = connection as unknown as RheaTimers;
  if (internals.socket && !internals.socket.destroyed)
    try {
      connection.close();
    } catch {
      // already closed
    }
  internals.socket?.destroy();
  // Called from inside rhea's input handling, which re-arms the idle timer when it returns
  // (a refused SASL exchange does): clear them now and once more after it is done.
  const clearTimers = () => {
    clearTimeout(internals.heartbeat_in);
    clearTimeout(internals.heartbeat_out);
    clearTimeout(internals.abort_idle);
  };
  clearTimers();
  setImmediate(clearTimers);
}

interface PendingSend {
  readonly message: AmqpMessage;
  readonly resolve: () => void;
  readonly reject: (error: UpstreamError) => void;
}

class AmqpSession implements UpstreamSession {
  readonly window = Infinity;
  private readonly senders = new Map<string, Sender>();
  /** Per sender: messages waiting for link credit, in order. */
  private readonly waiting = new Map<Sender, PendingSend[]>();
  private readonly unsettled = new Map<Delivery, PendingSend>();
  private readonly receivers: Receiver[] = [];
  private inbound: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly connection: Connection,
    private readonly config: BridgeConfig,
    private readonly upstream: AmqpUpstreamConfig,
    private readonly handlers: UpstreamHandlers,
  ) {
    connection.on('connection_error', (context: EventContext) => this.fail(classify(context.error)));
    connection.on('connection_close', (context: EventContext) =>
      this.fail(
        context.error ? classify(context.error) : new UpstreamError('network', 'upstream closed the connection'),
      ),
    );
    connection.on('disconnected', (context: EventContext) =>
      this.fail(toUpstreamError(context.error ?? new Error('connection to the upstream lost'))),
    );
    connection.on('error', (error: unknown) => this.fail(classify(error)));
    // Link-level trouble (address not found, link detached) ends the session: retried after backoff.
    const linkFailed = (context: EventContext) => {
      const link = context.sender ?? context.receiver;
      const error = link?.error as { condition?: string; description?: string } | undefined;
      this.fail(
        new UpstreamError(
          error?.condition !== undefined && authConditions.has(error.condition) ? 'auth' : 'protocol',
          `link ${link?.name ?? ''} closed: ${error?.condition ?? ''} ${error?.description ?? ''}`.trim(),
        ),
      );
    };
    connection.on('sender_error', linkFailed);
    connection.on('receiver_error', linkFailed);
    connection.on('sender_close', linkFailed);
    connection.on('receiver_close', linkFailed);
    connection.on('sendable', (context: EventContext) => this.flush(context.sender!));
    connection.on('accepted', (context: EventContext) => this.settled(context.delivery!, null));
    connection.on('rejected', (context: EventContext) => {
      const error = (context.delivery!.remote_state as { error?: { condition?: string; description?: string } })?.error;
      const text = `upstream rejected the message: ${error?.condition ?? ''} ${error?.description ?? ''}`.trim();
      const permanent = error?.condition === undefined || permanentConditions.has(error.condition);
      this.settled(context.delivery!, new UpstreamError(permanent ? 'refused-message' : 'protocol', text));
    });
    // released / modified: the upstream could not take it now; retried in order after a reconnect.
    connection.on('released', (context: EventContext) =>
      this.settled(context.delivery!, new UpstreamError('protocol', 'upstream released the message')),
    );
    connection.on('modified', (context: EventContext) =>
      this.settled(context.delivery!, new UpstreamError('protocol', 'upstream could not deliver the message')),
    );
    connection.on('message', (context: EventContext) => this.receive(context));
    if (config.direction !== 'out')
      for (const address of upstream.sourceAddresses) {
        // Durable terminus: the upstream keeps the subscription and its messages while we are away.
        const receiver = connection.open_receiver({
          source: { address, durable: 2, expiry_policy: 'never' },
          autoaccept: false,
          credit_window: 0,
        });
        receiver.add_credit(config.in.window);
        this.receivers.push(receiver);
      }
  }

  send(message: OutboundMessage): Promise<void> {
    if (this.closed) return Promise.reject(new UpstreamError('network', 'connection closed'));
    const address = this.upstream.targetAddress.replaceAll('{topic}', this.subject(message.topic));
    let sender = this.senders.get(address);
    if (!sender) {
      sender = this.connection.open_sender({ target: { address, durable: 2 }, autosettle: true });
      this.senders.set(address, sender);
      this.waiting.set(sender, []);
    }
    const target = sender;
    return new Promise<void>((resolve, reject) => {
      this.waiting.get(target)!.push({ message: this.amqpMessage(message, address), resolve, reject });
      this.flush(target);
    });
  }

  /** Sends what link credit allows, in order. */
  private flush(sender: Sender): void {
    const queue = this.waiting.get(sender);
    while (!this.closed && queue && queue.length > 0 && sender.sendable()) {
      const next = queue.shift()!;
      this.unsettled.set(sender.send(next.message), next);
    }
  }

  private settled(delivery: Delivery, error: UpstreamError | null): void {
    const pending = this.unsettled.get(delivery);
    if (!pending) return;
    this.unsettled.delete(delivery);
    if (error) pending.reject(error);
    else pending.resolve();
  }

  private subject(topic: string): string {
    return this.upstream.subjectSeparator === '.' ? topic.replaceAll('/', '.') : topic;
  }

  private amqpMessage(message: OutboundMessage, address: string): AmqpMessage {
    return {
      to: address,
      subject: this.subject(message.topic),
      // AMQP 1.0 §3.2.1: durable, so the upstream stores it before it accepts.
      durable: true,
      priority: message.priority,
      body: rhea.message.data_section(message.payload),
      application_properties: { ...message.headers, [topicProperty]: message.topic },
      ...(message.contentType !== undefined && { content_type: message.contentType }),
      ...(message.correlationId !== undefined && { correlation_id: message.correlationId }),
      ...(message.replyTo !== undefined && { reply_to: message.replyTo }),
      ...(message.expiresAt !== null && { ttl: Math.max(1, message.expiresAt - Date.now()) }),
    } as AmqpMessage;
  }

  /** Inbound deliveries are handled one at a time; credit comes back one per settlement. */
  private receive(context: EventContext): void {
    const delivery = context.delivery!;
    const receiver = context.receiver!;
    const message = this.inboundMessage(context.message!);
    this.inbound = this.inbound.then(async () => {
      if (this.closed) return; // unsettled: the upstream redelivers it
      try {
        await this.handlers.onMessage(message);
        delivery.accept();
      } catch (error) {
        const failure = toUpstreamError(error, 'local');
        if (failure.kind !== 'refused-message') return this.fail(failure);
        delivery.reject({ condition: 'amqp:invalid-field', description: failure.message });
      }
      if (!this.closed) receiver.add_credit(1);
    });
  }

  private inboundMessage(message: AmqpMessage): InboundMessage {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(message.application_properties ?? {}))
      if (key !== topicProperty && value !== null && value !== undefined) headers[key] = String(value);
    const fromProperty = message.application_properties?.[topicProperty];
    const subject =
      typeof message.subject === 'string' && message.subject.length > 0
        ? this.upstream.subjectSeparator === '.'
          ? message.subject.replaceAll('.', '/')
          : message.subject
        : undefined;
    const topic = typeof fromProperty === 'string' ? fromProperty : (subject ?? this.upstream.defaultTopic);
    const expiresAt =
      message.absolute_expiry_time instanceof Date
        ? message.absolute_expiry_time.getTime()
        : typeof message.ttl === 'number'
          ? Date.now() + message.ttl
          : undefined;
    return {
      topic,
      payload: bodyBytes(message.body),
      headers,
      ...(message.content_type !== undefined && { contentType: String(message.content_type) }),
      ...(message.correlation_id !== undefined && { correlationId: String(message.correlation_id) }),
      ...(message.reply_to !== undefined && { replyTo: message.reply_to }),
      ...(typeof message.priority === 'number' && { priority: Math.min(9, message.priority) }),
      ...(expiresAt !== undefined && { expiresAt }),
    };
  }

  private fail(error: UpstreamError): void {
    if (this.closed) return;
    this.shutdown(error);
    destroy(this.connection);
    this.handlers.onClosed(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.shutdown(new UpstreamError('network', 'connection closed by the bridge'));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        destroy(this.connection);
        resolve();
      }, 2000);
      this.connection.once('connection_close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.connection.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      try {
        this.connection.close();
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private shutdown(error: UpstreamError): void {
    this.closed = true;
    for (const pending of this.unsettled.values()) pending.reject(error);
    this.unsettled.clear();
    for (const queue of this.waiting.values()) for (const pending of queue.splice(0)) pending.reject(error);
    for (const event of ['connection_error', 'connection_close', 'disconnected', 'error', 'message'])
      this.connection.removeAllListeners(event);
    this.connection.on('error', () => {});
    this.connection.on('disconnected', () => {});
  }
}

/** The bytes of an AMQP body: a data section as is, a string as UTF-8, anything else as JSON. */
function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  const section = body as { typecode?: number; content?: unknown } | undefined;
  if (section && section.typecode === 0x75 && Buffer.isBuffer(section.content)) return section.content;
  if (body === undefined || body === null) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(body));
}
