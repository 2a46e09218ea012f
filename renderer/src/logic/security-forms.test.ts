import { describe, expect, test } from 'vitest';
import {
  newRoleFields,
  newUserProblem,
  patternProblem,
  patternsOf,
  roleFieldsOf,
  roleOf,
  ruleSummary,
  toggleAction,
} from './security-forms.ts';

describe('role rules', () => {
  test('fields round-trip a role', () => {
    const role = {
      name: 'line1',
      description: 'Line 1 operators',
      builtIn: false,
      rules: [{ actions: ['publish' as const, 'subscribe' as const], patterns: ['plant/line1/#', 'users/${user}/#'] }],
    };
    const result = roleOf(roleFieldsOf(role));
    expect(result).toEqual({ ok: true, role: { name: 'line1', description: 'Line 1 operators', rules: role.rules } });
  });

  test('patterns: one per line or comma, trimmed, blanks and duplicates dropped', () => {
    expect(patternsOf(' a/# \n\n b, a/# ,c/+/d ')).toEqual(['a/#', 'b', 'c/+/d']);
  });

  test('pattern checks name the rule and the fix', () => {
    expect(patternProblem('#')).toBeUndefined();
    expect(patternProblem('plant/+/temp')).toBeUndefined();
    expect(patternProblem('$security')).toBeUndefined();
    expect(patternProblem('users/${user}/#')).toBeUndefined();
    expect(patternProblem('a/#/b')).toMatch(/# must be a whole level and the last/);
    expect(patternProblem('a/b#')).toMatch(/# must be/);
    expect(patternProblem('a/x+/b')).toMatch(/\+ must be a whole level/);
    expect(patternProblem('a b')).toMatch(/space/);
    const bad = roleOf({
      name: 'r',
      description: '',
      rules: [
        { actions: ['publish'], patterns: 'ok/#' },
        { actions: ['browse'], patterns: 'x/#/y' },
      ],
    });
    expect(bad).toEqual({ ok: false, problem: expect.stringMatching(/^Rule 2: “x\/#\/y”/) as unknown as string });
  });

  test('a rule needs an action and a pattern; a role a valid name and a rule', () => {
    expect(roleOf({ ...newRoleFields, name: 'has space' })).toMatchObject({ ok: false, problem: /role name/ });
    expect(roleOf({ ...newRoleFields, name: 'r', rules: [] })).toMatchObject({
      ok: false,
      problem: /at least one rule/,
    });
    expect(roleOf({ name: 'r', description: '', rules: [{ actions: [], patterns: '#' }] })).toMatchObject({
      ok: false,
      problem: 'Rule 1: choose at least one action.',
    });
    expect(roleOf({ name: 'r', description: '', rules: [{ actions: ['browse'], patterns: ' \n ' }] })).toMatchObject({
      ok: false,
      problem: /Rule 1: give at least one resource pattern/,
    });
  });

  test('* stands alone; other actions keep the editor order', () => {
    const rule = { actions: ['browse' as const], patterns: '#' };
    expect(toggleAction(rule, 'publish').actions).toEqual(['publish', 'browse']);
    expect(toggleAction(rule, '*').actions).toEqual(['*']);
    expect(toggleAction({ ...rule, actions: ['*'] }, 'manage').actions).toEqual(['manage']);
    expect(toggleAction(rule, 'browse').actions).toEqual([]);
  });

  test('summary', () => {
    expect(ruleSummary({ actions: ['browse', 'subscribe'], patterns: ['#'] })).toBe('browse, subscribe on #');
  });
});

describe('user form', () => {
  test('name and password checks', () => {
    expect(newUserProblem('viewer', 'longenough')).toBeUndefined();
    expect(newUserProblem('with space', 'longenough')).toMatch(/user name/);
    expect(newUserProblem('viewer', 'short')).toMatch(/at least 8/);
  });
});
