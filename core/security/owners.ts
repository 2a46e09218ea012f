/**
 * Owners of stateful resources (DESIGN.md: state has an owner): a persistent MQTT session
 * (`mqtt/<clientId>`), an AMQP durable subscription (`amqp-sub/<container>/<link>`) and a `$share`
 * queue (`mqtt-share/<group>/<filter>`) belong to the user who made them. Another user presenting
 * the same client id or container id + link name is refused and touches nothing of the owner's.
 * Cached in memory, written through to SQLite (migration 006), so a restart keeps the owners.
 */
import type { SecurityStore } from '../store/security-store.ts';
import type { OwnerRegistry, Principal } from './authorize.ts';

/** The stored owner of anonymous resources ('' is no valid user name). */
const anonymousOwner = '';

/** The broker's owner registry. */
export class Owners implements OwnerRegistry {
  private readonly byResource = new Map<string, string>();

  constructor(
    private readonly store: SecurityStore,
    readonly maxSharedQueuesPerUser: number,
  ) {
    for (const { resource, user } of store.listOwners()) this.byResource.set(resource, user);
  }

  ownerOf(resource: string): string | null | undefined {
    const owner = this.byResource.get(resource);
    return owner === undefined ? undefined : owner === anonymousOwner ? null : owner;
  }

  claim(resource: string, principal: Principal): void {
    const user = principal.user ?? anonymousOwner;
    if (this.byResource.get(resource) === user) return;
    this.store.putOwner(resource, user, Date.now());
    this.byResource.set(resource, user);
  }

  release(resource: string): void {
    if (!this.byResource.delete(resource)) return;
    this.store.deleteOwner(resource);
  }

  countOwned(user: string | null, prefix: string, exists: (resource: string) => boolean): number {
    const wanted = user ?? anonymousOwner;
    let count = 0;
    for (const [resource, owner] of this.byResource)
      if (owner === wanted && resource.startsWith(prefix) && exists(resource)) count++;
    return count;
  }
}
