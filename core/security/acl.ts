/**
 * Roles and ACL rules (DESIGN.md: Security). A rule grants actions on resource patterns; a
 * principal may act when any rule of any of its roles covers the action and the resource.
 *
 * Patterns use MQTT wildcards on `/` levels for topics *and* queue names (queue names cannot
 * contain `+` or `#`): `plant/+/temp`, `orders`, `mqtt/#`. `#` alone covers every topic and
 * queue, but never a resource starting with `$` — the management resources `$security` (users,
 * roles, audit), `$connections`, `$demo` and the `$SYS` topics — unless a pattern names it
 * (DESIGN.md: Security; [MQTT-4.7.2-1] for topics).
 * `${user}` in a pattern is replaced by the principal's user name (`users/${user}/#`).
 * A subscription filter is allowed only when a pattern covers the whole filter: `a/#` covers
 * `a/b/#`, `a/+` covers `a/b` but not `a/#`.
 */
import { actions, type Action, type Principal } from './authorize.ts';

/** One grant. */
export interface AclRule {
  /** Actions granted; `*` is every action. */
  readonly actions: readonly (Action | '*')[];
  /** Resource patterns (topic filters / queue-name patterns). */
  readonly patterns: readonly string[];
}

/** A named set of rules. */
export interface Role {
  readonly name: string;
  readonly description: string;
  readonly rules: readonly AclRule[];
  /** Built-in roles cannot be changed or deleted. */
  readonly builtIn: boolean;
}

/** Roles every broker has. */
export const builtInRoles: readonly Role[] = [
  {
    name: 'admin',
    description: 'Everything, including users, roles, audit and connections',
    // Wildcards never cover `$…` resources, so the admin names them.
    rules: [{ actions: ['*'], patterns: ['#', '$security', '$connections', '$demo', '$SYS/#', '$queue/#'] }],
    builtIn: true,
  },
  {
    name: 'publisher',
    description: 'Publish to any topic',
    rules: [{ actions: ['publish'], patterns: ['#'] }],
    builtIn: true,
  },
  {
    name: 'consumer',
    description: 'Subscribe to any topic and consume any queue',
    rules: [{ actions: ['subscribe', 'consume'], patterns: ['#'] }],
    builtIn: true,
  },
  {
    name: 'viewer',
    description: 'Look at queues, dead messages, stats and the topic tree without changing anything',
    rules: [{ actions: ['browse', 'subscribe'], patterns: ['#'] }],
    builtIn: true,
  },
];

/** True when some rule of `roles` grants `action` on `resource` to `principal`. */
export function rolesAllow(roles: readonly Role[], principal: Principal, action: Action, resource: string): boolean {
  for (const role of roles)
    for (const rule of role.rules)
      if (rule.actions.includes('*') || rule.actions.includes(action))
        for (const pattern of rule.patterns) if (patternCovers(expand(pattern, principal), resource)) return true;
  return false;
}

function expand(pattern: string, principal: Principal): string {
  // A user name with wildcards must not widen its own grant: such a pattern matches nothing.
  const user = principal.user ?? '';
  if (!pattern.includes('${user}')) return pattern;
  if (user === '' || /[+#/]/.test(user)) return '\u0000';
  return pattern.replaceAll('${user}', user);
}

/** True when `pattern` covers every topic/queue `resource` (a name or a filter) can mean. */
export function patternCovers(pattern: string, resource: string): boolean {
  // A wildcard at the first level never matches `$…` (DESIGN.md: Security; [MQTT-4.7.2-1]).
  if (resource.startsWith('$') && !pattern.startsWith('$')) return false;
  if (pattern === '#') return true;
  const p = pattern.split('/');
  const r = resource.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= r.length) return false;
    if (r[i] === '#') return false; // the resource is broader than this pattern
    if (p[i] === '+') continue;
    if (p[i] !== r[i]) return false;
  }
  return p.length === r.length;
}

/** Checks rules a user wrote: known actions, non-empty patterns. Returns a problem or undefined. */
export function invalidRule(rule: AclRule): string | undefined {
  for (const action of rule.actions)
    if (action !== '*' && !actions.includes(action)) return `unknown action "${String(action)}"`;
  if (rule.actions.length === 0) return 'a rule needs at least one action';
  if (rule.patterns.length === 0) return 'a rule needs at least one pattern';
  for (const pattern of rule.patterns) if (pattern === '') return 'a pattern must not be empty';
  return undefined;
}
