/**
 * The one error catalog (STYLE.md §8). Every error that crosses a layer is a SluiceError
 * with a stable code; each adapter translates the code through this table, never by
 * inspecting messages. A test checks every code maps on every protocol.
 */

/** How one error code appears on each door of the broker. */
export interface ErrorMapping {
  /** HTTP status used by the REST API (problem+json). */
  readonly http: number;
  /** MQTT 5 reason code (also chooses the 3.1.1 behaviour: >= 0x80 closes or refuses). */
  readonly mqtt: number;
  /** AMQP 1.0 error condition (§2.8.15 and §3.2 symbols). */
  readonly amqp: string;
  /** Short human title, the same everywhere. */
  readonly title: string;
}

export const errorCatalog = {
  'invalid-input': {
    http: 400,
    mqtt: 0x99, // payload format invalid / generic malformed input
    amqp: 'amqp:invalid-field',
    title: 'Invalid input',
  },
  'invalid-topic': {
    http: 400,
    mqtt: 0x90, // Topic Name invalid
    amqp: 'amqp:invalid-field',
    title: 'Invalid topic',
  },
  'invalid-topic-filter': {
    http: 400,
    mqtt: 0x8f, // Topic Filter invalid
    amqp: 'amqp:invalid-field',
    title: 'Invalid topic filter',
  },
  'invalid-queue-name': {
    http: 400,
    mqtt: 0x8f,
    amqp: 'amqp:invalid-field',
    title: 'Invalid queue name',
  },
  'payload-too-large': {
    http: 413,
    mqtt: 0x95, // Packet too large
    amqp: 'amqp:link:message-size-exceeded',
    title: 'Payload too large',
  },
  'queue-not-found': {
    http: 404,
    mqtt: 0x8f,
    amqp: 'amqp:not-found',
    title: 'Queue not found',
  },
  'queue-exists': {
    http: 409,
    mqtt: 0x83, // Implementation specific error
    amqp: 'amqp:resource-locked',
    title: 'Queue already exists',
  },
  'queue-in-use': {
    http: 409,
    mqtt: 0x83,
    amqp: 'amqp:resource-locked',
    title: 'Queue is in use',
  },
  'queue-exclusive': {
    http: 409,
    mqtt: 0x83,
    amqp: 'amqp:resource-locked',
    title: 'Queue is exclusive and already has a consumer',
  },
  'queue-full': {
    http: 507,
    mqtt: 0x97, // Quota exceeded
    amqp: 'amqp:resource-limit-exceeded',
    title: 'Queue is full',
  },
  'store-full': {
    http: 507,
    mqtt: 0x97,
    amqp: 'amqp:resource-limit-exceeded',
    title: 'Broker storage is full',
  },
  'store-error': {
    http: 503,
    mqtt: 0x80, // Unspecified error
    amqp: 'amqp:internal-error',
    title: 'Broker storage failed',
  },
  'unknown-delivery': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:illegal-state',
    title: 'Unknown delivery',
  },
  'dead-message-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Dead message not found',
  },
  'message-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Message not found',
  },
  'replay-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Replay not found',
  },
  'replay-before-retention': {
    http: 416,
    mqtt: 0x80,
    amqp: 'amqp:invalid-field',
    title: 'Replay start is before the retained log',
  },
  'not-authorized': {
    http: 403,
    mqtt: 0x87, // Not authorized
    amqp: 'amqp:unauthorized-access',
    title: 'Not authorized',
  },
  'not-authenticated': {
    http: 401,
    mqtt: 0x86, // Bad user name or password
    amqp: 'amqp:unauthorized-access',
    title: 'Not authenticated',
  },
  'user-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'User not found',
  },
  'user-exists': {
    http: 409,
    mqtt: 0x83,
    amqp: 'amqp:resource-locked',
    title: 'User already exists',
  },
  'role-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Role not found',
  },
  'push-consumer-not-found': {
    http: 404,
    mqtt: 0x83,
    amqp: 'amqp:not-found',
    title: 'Push consumer not found',
  },
  'connection-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Connection not found',
  },
  'backup-not-found': {
    http: 404,
    mqtt: 0x80,
    amqp: 'amqp:not-found',
    title: 'Backup not found',
  },
  'invalid-backup': {
    http: 400,
    mqtt: 0x80,
    amqp: 'amqp:invalid-field',
    title: 'Not a usable Sluice backup',
  },
  'invalid-config-document': {
    http: 422,
    mqtt: 0x80,
    amqp: 'amqp:invalid-field',
    title: 'Configuration document not understood',
  },
  'broker-closing': {
    http: 503,
    mqtt: 0x8b, // Server shutting down
    amqp: 'amqp:connection:forced',
    title: 'Broker is shutting down',
  },
  'limit-reached': {
    http: 503,
    mqtt: 0x97, // Quota exceeded
    amqp: 'amqp:resource-limit-exceeded',
    title: 'Limit reached',
  },
  'invalid-config': {
    http: 400,
    mqtt: 0x80,
    amqp: 'amqp:invalid-field',
    title: 'Invalid configuration',
  },
  internal: {
    http: 500,
    mqtt: 0x80,
    amqp: 'amqp:internal-error',
    title: 'Internal error',
  },
} as const satisfies Record<string, ErrorMapping>;

/** A stable error code from the catalog. */
export type ErrorCode = keyof typeof errorCatalog;

/** All codes, for exhaustive tests and for the API contract. */
export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];

/** The only error type that crosses a layer boundary. */
export class SluiceError extends Error {
  override readonly name = 'SluiceError';
  constructor(
    /** Stable code; adapters map it through `errorCatalog`. */
    readonly code: ErrorCode,
    /** Precise human detail (which queue, which limit, what to do). */
    readonly detail: string,
    /** Optional structured facts for API clients (e.g. the log's first id). */
    readonly data?: Readonly<Record<string, unknown>>,
  ) {
    super(`${errorCatalog[code].title}: ${detail}`);
  }

  get mapping(): ErrorMapping {
    return errorCatalog[this.code];
  }
}

/** Wraps anything thrown into a SluiceError without losing the original as cause. */
export function toSluiceError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  const wrapped = new SluiceError('internal', error instanceof Error ? error.message : String(error));
  wrapped.cause = error;
  return wrapped;
}
