/**
 * The push consumer operations (docs/push.md): list, set, delete and status of the HTTP push
 * consumers of queues, with the flow check that setting one up needs.
 */
import { SluiceError } from '../../errors.ts';
import type { Engine } from '../../engine/engine.ts';
import { authorize, type SecurityPolicy } from '../../security/authorize.ts';
import type { PushRegistry } from '../../schema/push-config.ts';
import { hostContext, type AreaHandlers, type CallContext } from './context.ts';

/** The handlers of push operations; without a registry they answer as if no push consumer exists. */
export function pushHandlers(engine: Engine, registry: () => PushRegistry | undefined, policy: SecurityPolicy) {
  /**
   * A push consumer sends the queue's messages to whoever runs its endpoint, so whoever sets
   * one up must be allowed to take them: `consume` on the queue and `subscribe` on each of its
   * topics (DESIGN.md: authorize the flow; a rule on a queue name never grants its topics).
   */
  function authorizePushFlow(queue: string, context: CallContext): void {
    if (context === hostContext) return;
    authorize(context.principal, 'consume', queue, policy);
    for (const filter of engine.queueByName(queue)?.config.subscriptions ?? [])
      authorize(context.principal, 'subscribe', filter, policy);
  }

  const unary: AreaHandlers<'push'> = {
    'push.list': ({ queue }) => ({ pushConsumers: registry()?.list(queue) ?? [] }),
    'push.put': async (input, context) => {
      const push = registry();
      if (!push) throw new SluiceError('broker-closing', 'Push consumers are not running in this broker');
      authorizePushFlow(input.queue, context);
      // Replacing one that belongs to another queue takes it away from that queue: manage there too.
      const moved = push.list().find((view) => view.config.name === input.name && view.config.queue !== input.queue);
      if (moved && context !== hostContext) authorize(context.principal, 'manage', moved.config.queue, policy);
      return push.put(input, { user: context.principal.user });
    },
    'push.delete': async ({ queue, name }) => {
      const push = registry();
      const found = push?.list(queue).find((view) => view.config.name === name);
      if (!push || !found)
        throw new SluiceError('push-consumer-not-found', `No push consumer "${name}" on queue "${queue}"`);
      await push.delete(name);
      return { name, deleted: true as const };
    },
    'push.status': (_input, context) => ({
      pushConsumers: (registry()?.statuses() ?? []).filter(
        (status) => context === hostContext || policy.allows(context.principal, 'browse', status.queue),
      ),
    }),
  };
  return { unary };
}
