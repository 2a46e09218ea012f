/**
 * The Security view's forms as pure functions (tested in security-forms.test.ts): a role's ACL
 * rules as editable fields and back, with the checks the broker would make said before sending,
 * and the user form's checks. Rules: `{actions, patterns}` (docs/security.md).
 */
import type { OperationInput, OperationOutput } from '../../../core/api/contract.ts';

/** A role as listed. */
export type WireRole = OperationOutput<'roles.list'>['roles'][number];
/** What roles.put takes. */
export type RoleInput = OperationInput<'roles.put'>;
type RuleAction = RoleInput['rules'][number]['actions'][number];

/** The permissions a rule can grant, in the order the editor shows them; `*` is all of them. */
export const ruleActions = ['publish', 'subscribe', 'consume', 'browse', 'replay', 'manage', '*'] as const;

/** What each action allows, for the editor's hints. */
export const actionHints: Record<(typeof ruleActions)[number], string> = {
  publish: 'send messages to matching topics',
  subscribe: 'watch matching topics live',
  consume: 'receive from matching queues',
  browse: 'look at queues, messages, connections',
  replay: 'replay the log into queues',
  manage: 'create/change/delete queues; users and roles on $security; disconnect on $connections',
  '*': 'every action',
};

/** One rule being edited: patterns one per line. */
export interface RuleFields {
  readonly actions: readonly RuleAction[];
  readonly patterns: string;
}

/** A role being edited. */
export interface RoleFields {
  readonly name: string;
  readonly description: string;
  readonly rules: readonly RuleFields[];
}

export const newRule: RuleFields = { actions: ['subscribe'], patterns: '' };
export const newRoleFields: RoleFields = { name: '', description: '', rules: [newRule] };

export function roleFieldsOf(role: WireRole): RoleFields {
  return {
    name: role.name,
    description: role.description,
    rules: role.rules.map((rule) => ({ actions: [...rule.actions], patterns: rule.patterns.join('\n') })),
  };
}

/** Toggles an action in a rule; `*` stands alone (choosing it clears the rest, and the reverse). */
export function toggleAction(rule: RuleFields, action: RuleAction): RuleFields {
  const has = rule.actions.includes(action);
  if (has) return { ...rule, actions: rule.actions.filter((a) => a !== action) };
  if (action === '*') return { ...rule, actions: ['*'] };
  const actions = [...rule.actions.filter((a) => a !== '*'), action];
  return { ...rule, actions: ruleActions.filter((a) => (actions as readonly string[]).includes(a)) };
}

/** The patterns of a text field: one per line (commas too), trimmed, blanks dropped, duplicates once. */
export function patternsOf(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\n,]/)
        .map((p) => p.trim())
        .filter((p) => p !== ''),
    ),
  ];
}

/**
 * Why a resource pattern cannot work, or undefined. Patterns are MQTT-style filters over `/`
 * levels for topics and queue names: `+` is a whole level, `#` only the whole last level.
 */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length > 1024) return `“${pattern.slice(0, 20)}…” is longer than 1024 characters`;
  if (/\s/.test(pattern)) return `“${pattern}” contains a space`;
  const levels = pattern.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1))
      return `“${pattern}”: # must be a whole level and the last one (e.g. plant/#)`;
    if (level.includes('+') && level !== '+') return `“${pattern}”: + must be a whole level (e.g. plant/+/temp)`;
  }
  return undefined;
}

const roleNamePattern = /^[A-Za-z0-9._@-]{1,64}$/;

/** The roles.put input for the fields, or the first problem in words. */
export function roleOf(fields: RoleFields): { ok: true; role: RoleInput } | { ok: false; problem: string } {
  const name = fields.name.trim();
  if (!roleNamePattern.test(name))
    return { ok: false, problem: 'A role name is 1–64 of A–Z a–z 0–9 . _ @ - (no spaces).' };
  if (fields.rules.length === 0) return { ok: false, problem: 'A role needs at least one rule.' };
  const rules: RoleInput['rules'] = [];
  for (const [index, rule] of fields.rules.entries()) {
    const which = `Rule ${index + 1}`;
    if (rule.actions.length === 0) return { ok: false, problem: `${which}: choose at least one action.` };
    const patterns = patternsOf(rule.patterns);
    if (patterns.length === 0)
      return { ok: false, problem: `${which}: give at least one resource pattern (# for everything).` };
    for (const pattern of patterns) {
      const problem = patternProblem(pattern);
      if (problem) return { ok: false, problem: `${which}: ${problem}.` };
    }
    rules.push({ actions: [...rule.actions], patterns });
  }
  return { ok: true, role: { name, description: fields.description.trim(), rules } };
}

const userNamePattern = /^[A-Za-z0-9._@-]{1,64}$/;

/** Checks the new-user form; undefined when it can be sent. */
export function newUserProblem(name: string, password: string): string | undefined {
  if (!userNamePattern.test(name.trim())) return 'A user name is 1–64 of A–Z a–z 0–9 . _ @ - (no spaces).';
  return passwordProblem(password);
}

/** Checks a new password; undefined when acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8) return 'A password has at least 8 characters.';
  if (password.length > 1024) return 'A password has at most 1024 characters.';
  return undefined;
}

/** A one-line summary of a rule: `publish, subscribe on plant/#, line/+`. */
export function ruleSummary(rule: { actions: readonly string[]; patterns: readonly string[] }): string {
  return `${rule.actions.join(', ')} on ${rule.patterns.join(', ')}`;
}
