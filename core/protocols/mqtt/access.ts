/**
 * Who may use a client id, and what happens to open connections when rights change (DESIGN.md:
 * state has an owner; rights are live). Pure decisions over the listener's sessions: index.ts
 * refuses the CONNECT or disconnects the client.
 */
import type { Principal, SecurityPolicy } from '../../security/authorize.ts';
import { sessionQueueName } from './queue-names.ts';
import type { Session } from './session.ts';

/**
 * Why `principal` may not connect as `clientId`, or undefined: the id is another user's while
 * that user is connected with it (`live`) or owns its persistent session. The owner reconnecting
 * takes over as MQTT requires [MQTT-3.1.4-3].
 */
export function ownershipRefusal(
  clientId: string,
  principal: Principal,
  live: Session | undefined,
  security: SecurityPolicy,
): string | undefined {
  if (live && live.principal.user !== principal.user) return `client id "${clientId}" is connected as another user`;
  const owner = security.owners?.ownerOf(sessionQueueName(clientId));
  if (owner !== undefined && owner !== principal.user)
    return `client id "${clientId}" has a persistent session of another user`;
  return undefined;
}

/**
 * Listens to rights changes: a user whose password changed or who was deleted is disconnected;
 * after a role change, a connection holding a subscription it may no longer have is (MQTT cannot
 * take back one subscription). Returns the function that stops listening.
 */
export function watchRights<C>(
  security: SecurityPolicy,
  sessions: ReadonlyMap<C, Session>,
  disconnect: (client: C, reason: string) => void,
): (() => void) | undefined {
  return security.onRightsChanged?.((change) => {
    for (const [client, session] of sessions) {
      const user = session.principal.user;
      if (change.user !== null && change.user !== user) continue;
      if (change.kind === 'credentials') {
        disconnect(client, `the credentials of "${user ?? ''}" changed`);
        continue;
      }
      const revoked = session.revokedSubscription();
      if (revoked !== undefined) disconnect(client, `not authorized any more for "${revoked}"`);
    }
  });
}
