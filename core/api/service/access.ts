/**
 * Who may call what, checked once for every transport (STYLE.md §9), and the audit log of calls:
 * the operation's declared permission, the flow behind it (DESIGN.md: authorize the flow, not
 * only the door), and a record of every management call, refusals included.
 */
import type { SluiceError } from '../../errors.ts';
import { authorize, type SecurityPolicy } from '../../security/authorize.ts';
import type { BrokerSecurity } from '../../security/policy.ts';
import { contract, type OperationName, type ParsedInput, type WireAction } from '../contract.ts';
import { hostContext, type CallContext } from './context.ts';

/** The permission checks and the audit record of calls, over the broker's security (none: nothing recorded). */
export function createAccess(security: BrokerSecurity | undefined, policy: SecurityPolicy) {
  /** Checks `name`'s declared permission for `context` (STYLE.md §9: enforced once, for every transport). */
  function authorizeCall(name: OperationName, input: unknown, context: CallContext): void {
    if (context === hostContext) return;
    const permission = contract[name].permission as
      | { kind: 'public' | 'authenticated' }
      | { kind: 'acl'; action: WireAction; resources(input: unknown): readonly string[] };
    if (permission.kind !== 'acl') return;
    for (const resource of permission.resources(input))
      authorize(context.principal, permission.action, resource, policy);
    for (const [action, resource] of flowChecks(name, input)) authorize(context.principal, action, resource, policy);
  }

  /**
   * Management operations (and security changes) go to the audit log, refusals included; so
   * does every call an agent makes over MCP (docs/mcp.md: every action audited).
   */
  function audited(name: OperationName, input: unknown, context: CallContext): { resource: string } | undefined {
    const permission = contract[name].permission as {
      kind: string;
      action?: string;
      resources?: (i: unknown) => readonly string[];
    };
    const security = name.startsWith('auth.setup') || name.startsWith('users.') || name.startsWith('roles.');
    if (permission.action !== 'manage' && !security && context.principal.protocol !== 'mcp') return undefined;
    let resource = '';
    try {
      resource = (permission.resources?.(input) ?? []).join(' ');
    } catch {
      // unparsed input: no resource to name
    }
    if (name.startsWith('users.') || name.startsWith('roles.'))
      resource = String((input as { name?: unknown } | undefined)?.name ?? '$security');
    return { resource };
  }

  function record(name: OperationName, context: CallContext, resource: string, error?: SluiceError): void {
    if (!security || context === hostContext) return;
    const { principal } = context;
    security.audit.record({
      user: principal.user,
      protocol: principal.protocol,
      address: principal.address ?? null,
      operation: name,
      resource,
      result:
        error === undefined
          ? 'ok'
          : error.code === 'not-authorized' || error.code === 'not-authenticated'
            ? 'refused'
            : 'failed',
      code: error?.code ?? null,
      detail: error?.detail ?? null,
    });
  }

  return { authorizeCall, audited, record };
}

/**
 * DESIGN.md: authorize the flow, not only the door. Operations that make messages reach a queue
 * someone reads need the topics' rights too, beyond the permission on the queue's name: a
 * queue's subscriptions need `subscribe` on each filter, a replay needs `replay` on its topic
 * filter (all of the log when none is given), so it copies only topics the caller may read.
 */
function flowChecks(name: OperationName, input: unknown): Array<readonly [WireAction, string]> {
  const subscribeEach = (filters: readonly string[] | undefined) =>
    (filters ?? []).map((filter) => ['subscribe', filter] as const);
  switch (name) {
    case 'queues.create':
      return subscribeEach((input as ParsedInput<'queues.create'>).subscriptions);
    case 'queues.update':
      return subscribeEach((input as ParsedInput<'queues.update'>).subscriptions);
    case 'replay.start': {
      const spec = input as ParsedInput<'replay.start'>;
      return [['replay', spec.topicFilter ?? '#'], ...subscribeEach(spec.target.create?.subscriptions)];
    }
    default:
      return [];
  }
}
