import type { ConfigDocument } from './config-document.ts';

// Pure converter (DESIGN.md: format converters are pure functions of the document): a Sluice
// configuration document → a RabbitMQ definitions document for `rabbitmqctl import_definitions`
// (docs/handover.md has the mapping table). Whatever RabbitMQ cannot express becomes a warning;
// nothing is dropped silently.

/** The exchange every queue dead-letters through (direct; routing key = the DMQ's name). */
export const deadLetterExchange = 'sluice.dead-letter';
/** Where RabbitMQ's MQTT plugin publishes, and so where topic subscriptions are bound. */
export const topicExchange = 'amq.topic';

/** A role's rules, as the converter needs them (built-in roles come from the broker). */
export interface RoleRules {
  readonly name: string;
  readonly rules: ReadonlyArray<{ readonly actions: readonly string[]; readonly patterns: readonly string[] }>;
}

/** A RabbitMQ definitions document and what could not be carried over. */
export interface RabbitConversion {
  readonly definitions: Record<string, unknown>;
  readonly warnings: string[];
}

/**
 * An MQTT topic filter as an AMQP 0-9-1 topic pattern, the way RabbitMQ's MQTT plugin routes:
 * `/` → `.`, `+` → `*`, `#` → `#`, and a `.` inside a level → `/` (the plugin swaps the two).
 */
export function mqttFilterToAmqpPattern(filter: string): string {
  return filter
    .split('/')
    .map((level) => (level === '+' ? '*' : level.replaceAll('.', '/')))
    .join('.');
}

/** A regex source matching the AMQP routing keys an MQTT-style pattern covers. */
function patternRegex(pattern: string): string {
  const levels = pattern.split('/');
  let source = '';
  levels.forEach((level, index) => {
    const separator = index === 0 ? '' : '\\.';
    if (level === '#') {
      // `a/#` also matches `a` itself [MQTT-4.7.1-2].
      source = index === 0 ? '.*' : `${source}(${separator}.*)?`;
    } else if (level === '+') source += `${separator}[^.]*`;
    else source += separator + level.replaceAll('.', '/').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  });
  return source;
}

/** A regex source for queue names matched by ACL patterns (`#` → anything). */
function queueRegex(patterns: readonly string[]): string {
  if (patterns.includes('#')) return '.*';
  return patterns.map((pattern) => `^${patternRegex(pattern)}$`).join('|');
}

const anyOf = (sources: readonly string[]) => {
  const unique = [...new Set(sources.filter((source) => source !== ''))];
  if (unique.includes('.*')) return '.*';
  return unique.length === 0 ? '' : unique.map((source) => `(${source})`).join('|');
};

/** Sluice overflow policy → quorum-queue `x-overflow`, with what differs. */
function overflowOf(queue: string, overflow: string, warnings: string[]): string {
  if (overflow === 'reject-publisher') return 'reject-publish';
  if (overflow === 'drop-oldest') {
    warnings.push(
      `queue "${queue}": overflow drop-oldest → x-overflow drop-head; RabbitMQ dead-letters the dropped oldest message to the DMQ where Sluice discards it`,
    );
    return 'drop-head';
  }
  warnings.push(
    `queue "${queue}": overflow dead-letter (the new message goes to the DMQ) has no quorum-queue equivalent (reject-publish-dlx is classic-only); mapped to x-overflow drop-head, which dead-letters the oldest message instead`,
  );
  return 'drop-head';
}

/** Converts a configuration document; `roles` must include the built-in roles users may name. */
export function toRabbitDefinitions(
  document: ConfigDocument,
  options: { readonly vhost?: string; readonly roles?: readonly RoleRules[] } = {},
): RabbitConversion {
  const vhost = options.vhost ?? '/';
  const warnings: string[] = [];
  const queues: Array<Record<string, unknown>> = [];
  const bindings: Array<Record<string, unknown>> = [];
  const dmqs = new Set<string>();
  const declared = new Set(document.queues.map((queue) => queue.name));

  for (const queue of document.queues) {
    const args: Record<string, unknown> = {
      'x-queue-type': 'quorum',
      'x-delivery-limit': queue.maxRedelivery,
      'x-dead-letter-exchange': deadLetterExchange,
      'x-dead-letter-routing-key': queue.deadMessageQueue,
      'x-max-length': queue.maxDepthMessages,
      'x-max-length-bytes': queue.maxDepthBytes,
      'x-overflow': overflowOf(queue.name, queue.overflow, warnings),
    };
    if (queue.defaultTtlMs !== null) args['x-message-ttl'] = queue.defaultTtlMs;
    if (queue.accessType === 'exclusive') args['x-single-active-consumer'] = true;
    // At-least-once dead-lettering needs reject-publish; otherwise quorum queues dead-letter at most once.
    if (args['x-overflow'] === 'reject-publish') args['x-dead-letter-strategy'] = 'at-least-once';
    else
      warnings.push(
        `queue "${queue.name}": with x-overflow drop-head RabbitMQ dead-letters at most once (at-least-once needs reject-publish)`,
      );
    queues.push({ name: queue.name, vhost, durable: true, auto_delete: false, arguments: args });
    dmqs.add(queue.deadMessageQueue);
    for (const filter of queue.subscriptions) {
      if (filter.startsWith('$'))
        warnings.push(
          `queue "${queue.name}": subscription "${filter}" is a $-topic; RabbitMQ's MQTT plugin routes it like any other`,
        );
      bindings.push({
        source: topicExchange,
        vhost,
        destination: queue.name,
        destination_type: 'queue',
        routing_key: mqttFilterToAmqpPattern(filter),
        arguments: {},
      });
    }
  }
  for (const dmq of [...dmqs].sort()) {
    if (declared.has(dmq)) warnings.push(`DMQ "${dmq}" is also a declared queue; it keeps its own arguments`);
    else queues.push({ name: dmq, vhost, durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' } });
    bindings.push({
      source: deadLetterExchange,
      vhost,
      destination: dmq,
      destination_type: 'queue',
      routing_key: dmq,
      arguments: {},
    });
  }
  warnings.push(
    'dead messages in RabbitMQ carry x-death headers instead of Sluice’s reason, delivery count and times; Sluice’s redeliver/purge operations have no RabbitMQ equivalent',
  );

  const { users, permissions, topicPermissions } = securityDefinitions(document, vhost, options.roles ?? [], warnings);
  if (document.bridges.length > 0)
    warnings.push(
      `bridges (${document.bridges.map((bridge) => bridge.name).join(', ')}) are not RabbitMQ definitions: use the shovel or federation plugin`,
    );
  if (document.pushConsumers.length > 0)
    warnings.push(
      `push consumers (${document.pushConsumers.map((push) => push.name).join(', ')}) have no RabbitMQ equivalent: run a consumer that forwards to the endpoint`,
    );
  warnings.push('listener settings (ports, TLS) are not part of RabbitMQ definitions: set them in rabbitmq.conf');

  return {
    definitions: {
      rabbit_version: '3.10.0',
      rabbitmq_version: '3.10.0',
      product_name: 'Sluice export',
      users,
      vhosts: [{ name: vhost }],
      permissions,
      topic_permissions: topicPermissions,
      parameters: [],
      global_parameters: [],
      policies: [],
      queues,
      exchanges: [
        {
          name: deadLetterExchange,
          vhost,
          type: 'direct',
          durable: true,
          auto_delete: false,
          internal: false,
          arguments: {},
        },
      ],
      bindings,
    },
    warnings,
  };
}

/** Users and their permissions from the roles' rules, as far as RabbitMQ can say them. */
function securityDefinitions(
  document: ConfigDocument,
  vhost: string,
  builtIn: readonly RoleRules[],
  warnings: string[],
) {
  const roles = new Map<string, RoleRules>([...builtIn, ...document.roles].map((role) => [role.name, role]));
  const users: Array<Record<string, unknown>> = [];
  const permissions: Array<Record<string, unknown>> = [];
  const topicPermissions: Array<Record<string, unknown>> = [];
  if (document.users.length > 0)
    warnings.push(
      'users are created without a password (Sluice’s scrypt hashes cannot be converted): set each with rabbitmqctl change_password',
    );
  for (const user of document.users) {
    const grants = {
      publish: [] as string[],
      subscribe: [] as string[],
      consume: [] as string[],
      manage: [] as string[],
    };
    for (const name of user.roles) {
      const role = roles.get(name);
      if (!role) {
        warnings.push(`user "${user.name}": role "${name}" is unknown; left out`);
        continue;
      }
      for (const rule of role.rules)
        for (const action of rule.actions.includes('*')
          ? ['publish', 'subscribe', 'consume', 'manage']
          : rule.actions) {
          const patterns = rule.patterns.filter((pattern) => {
            if (!pattern.startsWith('$') && !pattern.includes('${user}')) return true;
            warnings.push(
              `user "${user.name}": ${action} on "${pattern}" (role ${name}) has no RabbitMQ permission equivalent; left out`,
            );
            return false;
          });
          if (action in grants) grants[action as keyof typeof grants].push(...patterns);
          else if (patterns.length > 0)
            warnings.push(
              `user "${user.name}": ${action} (role ${name}) has no RabbitMQ equivalent (${action === 'browse' ? 'management UI only' : 'no replay in RabbitMQ'}); left out`,
            );
        }
    }
    const administrator = user.roles.includes('admin');
    users.push({
      name: user.name,
      password_hash: '',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: administrator ? ['administrator'] : [],
      limits: {},
    });
    const topicWrite = anyOf(grants.publish.map((pattern) => `^${patternRegex(pattern)}$`));
    const topicRead = anyOf(grants.subscribe.map((pattern) => `^${patternRegex(pattern)}$`));
    const managed = grants.manage.length > 0 ? queueRegex(grants.manage) : '';
    const consumed = grants.consume.length > 0 ? queueRegex(grants.consume) : '';
    // The MQTT plugin subscribes through its own mqtt-subscription-* queues bound to amq.topic.
    const mqttQueues = grants.subscribe.length > 0 ? '^mqtt-subscription-.*' : '';
    permissions.push({
      user: user.name,
      vhost,
      configure: anyOf([managed, mqttQueues]),
      write: anyOf([managed, mqttQueues, grants.publish.length > 0 ? '^amq\\.topic$' : '']),
      read: anyOf([managed, consumed, mqttQueues, grants.subscribe.length > 0 ? '^amq\\.topic$' : '']),
    });
    if (topicWrite !== '' || topicRead !== '')
      topicPermissions.push({ user: user.name, vhost, exchange: topicExchange, write: topicWrite, read: topicRead });
  }
  return { users, permissions, topicPermissions };
}
