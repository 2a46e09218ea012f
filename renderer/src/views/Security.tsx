/**
 * Security: users (create, set password, assign roles, delete), roles with their ACL rules
 * (built-in roles read-only), and the audit log (filter, virtualised, export NDJSON). Every
 * operation here needs `manage` on `$security`; without it the broker's 403 is shown as a
 * permission notice (docs/security.md).
 */
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import type { OperationInput, OperationOutput } from '../../../core/api/contract.ts';
import { useBroker, useOperation } from '../api/hooks.ts';
import { ConfirmButton, Details, ErrorNotice, Notice } from '../components/bits.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { useSession } from '../Gate.tsx';
import { count, time } from '../logic/format.ts';
import {
  actionHints,
  newRoleFields,
  newRule,
  newUserProblem,
  passwordProblem,
  roleFieldsOf,
  roleOf,
  ruleActions,
  ruleSummary,
  toggleAction,
  type RoleFields,
  type WireRole,
} from '../logic/security-forms.ts';
import { refusalNotice } from '../logic/session.ts';

type Tab = 'users' | 'roles' | 'audit';
type WireUser = OperationOutput<'users.list'>['users'][number];
type NoticeState = { ok: boolean; text: string; denied?: boolean } | undefined;

const tabs: ReadonlyArray<readonly [Tab, string]> = [
  ['users', 'Users'],
  ['roles', 'Roles and rules'],
  ['audit', 'Audit log'],
];

export function Security(): ReactNode {
  const [tab, setTab] = useState<Tab>('users');
  return (
    <section className="view fill" aria-label="Security">
      <div className="tabs" role="tablist" aria-label="Security">
        {tabs.map(([id, title]) => (
          <button key={id} role="tab" aria-selected={tab === id} onClick={() => setTab(id)}>
            {title}
          </button>
        ))}
      </div>
      {tab === 'users' && <Users />}
      {tab === 'roles' && <Roles />}
      {tab === 'audit' && <Audit />}
    </section>
  );
}

/** Runs an action and turns its outcome into a notice. */
function useAction(): [NoticeState, (action: () => Promise<string>) => Promise<boolean>] {
  const [notice, setNotice] = useState<NoticeState>();
  const run = async (action: () => Promise<string>) => {
    try {
      const text = await action();
      setNotice(text ? { ok: true, text } : undefined); // '' : the parent's flash says it
      return true;
    } catch (error) {
      setNotice(refusalNotice(error));
      return false;
    }
  };
  return [notice, run];
}

// ── users ─────────────────────────────────────────────────────────────────────────────

function Users(): ReactNode {
  const users = useOperation('users.list', {});
  const roles = useOperation('roles.list', {});
  const [selected, setSelected] = useState<string>();
  const [flash, setFlash] = useState<NoticeState>();
  const list = users.data?.users ?? [];
  const done = (name: string | undefined, message?: string) => {
    setSelected(name);
    if (message) setFlash({ ok: true, text: message });
    users.reload();
  };
  const current = list.find((u) => u.name === selected);
  const roleNames = (roles.data?.roles ?? []).map((r) => r.name);
  const me = useSession()?.user;

  return (
    <div className="split">
      <div className="panel stack" style={{ overflow: 'auto' }}>
        <div className="row">
          <h3>Users</h3>
          <span className="muted">{count(list.length)}</span>
          <span className="spacer" />
          <button
            className="primary"
            onClick={() => {
              setSelected(undefined);
              setFlash(undefined);
            }}
          >
            New user
          </button>
        </div>
        <ErrorNotice error={users.error} />
        <table className="table pick" aria-label="Users">
          <thead>
            <tr>
              <th>User</th>
              <th>Roles</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((user) => (
              <tr
                key={user.name}
                className={user.name === selected ? 'selected' : undefined}
                onClick={() => {
                  setSelected(user.name);
                  setFlash(undefined);
                }}
                data-user={user.name}
              >
                <td className="mono">
                  {user.name}
                  {user.name === me && <span className="muted"> (you)</span>}
                </td>
                <td>
                  <Chips items={user.roles} />
                </td>
                <td className="muted">{time(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="stack" style={{ overflow: 'auto' }}>
        <Notice notice={flash} />
        {current ? (
          <UserEditor key={current.name} user={current} roles={roleNames} onDone={done} />
        ) : (
          <UserCreator roles={roleNames} onDone={done} />
        )}
      </div>
    </div>
  );
}

function Chips(props: { items: readonly string[] }): ReactNode {
  if (props.items.length === 0) return <span className="muted">none</span>;
  return (
    <span className="chips">
      {props.items.map((item) => (
        <span key={item} className={`chip${item === 'admin' ? ' admin' : ''}`}>
          {item}
        </span>
      ))}
    </span>
  );
}

function RolePicker(props: {
  roles: readonly string[];
  value: readonly string[];
  onChange: (roles: string[]) => void;
}): ReactNode {
  return (
    <fieldset className="checks" aria-label="Roles" style={{ border: 'none', padding: 0, margin: 0 }}>
      {props.roles.map((role) => (
        <label key={role} className="check">
          <input
            type="checkbox"
            checked={props.value.includes(role)}
            onChange={(e) =>
              props.onChange(e.target.checked ? [...props.value, role] : props.value.filter((r) => r !== role))
            }
          />
          <span className="mono">{role}</span>
        </label>
      ))}
    </fieldset>
  );
}

function UserCreator(props: {
  roles: readonly string[];
  onDone: (name: string | undefined, message?: string) => void;
}): ReactNode {
  const { api } = useBroker();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>(['viewer']);
  const [notice, run] = useAction();
  const [problem, setProblem] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = newUserProblem(name, password);
    setProblem(found);
    if (found) return;
    void run(async () => {
      const created = await api.call('users.create', { name: name.trim(), password, roles });
      props.onDone(created.name, `User ${created.name} created.`);
      return '';
    });
  };

  return (
    <form className="panel stack" onSubmit={submit} aria-label="New user">
      <h2>New user</h2>
      <div className="form">
        <label className="field">
          User name
          <input className="mono" value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" />
        </label>
        <label className="field">
          Password (at least 8 characters)
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            autoComplete="new-password"
          />
        </label>
        <div className="field wide">
          <span className="muted" style={{ fontSize: 13, fontWeight: 600 }}>
            Roles
          </span>
          <RolePicker roles={props.roles} value={roles} onChange={setRoles} />
        </div>
      </div>
      <div className="row">
        <button className="primary" type="submit">
          Create user
        </button>
      </div>
      <Notice notice={problem ? { ok: false, text: problem } : notice} />
    </form>
  );
}

function UserEditor(props: {
  user: WireUser;
  roles: readonly string[];
  onDone: (name: string | undefined, message?: string) => void;
}): ReactNode {
  const { api } = useBroker();
  const { user } = props;
  const [roles, setRoles] = useState<string[]>([...user.roles]);
  const [password, setPassword] = useState('');
  const [notice, run] = useAction();
  const [problem, setProblem] = useState<string>();
  const changed = roles.slice().sort().join() !== user.roles.slice().sort().join();

  const saveRoles = () =>
    void run(async () => {
      await api.call('users.update', { name: user.name, roles });
      props.onDone(user.name);
      return `Roles of ${user.name} saved.`;
    });

  const setNewPassword = (event: FormEvent) => {
    event.preventDefault();
    const found = passwordProblem(password);
    setProblem(found);
    if (found) return;
    void run(async () => {
      await api.call('users.update', { name: user.name, password });
      setPassword('');
      return `Password of ${user.name} changed.`;
    });
  };

  return (
    <div className="panel stack" aria-label={`User ${user.name}`}>
      <div className="row">
        <h2 className="mono" style={{ fontSize: 22 }}>
          {user.name}
        </h2>
        <span className="spacer" />
        <span className="muted">created {time(user.createdAt)}</span>
      </div>
      <h3>Roles</h3>
      <RolePicker roles={props.roles} value={roles} onChange={setRoles} />
      <div className="row">
        <button className="primary" disabled={!changed} onClick={saveRoles}>
          Save roles
        </button>
      </div>
      <form className="stack" onSubmit={setNewPassword} aria-label="Set password">
        <h3>Set a new password</h3>
        <div className="row">
          <input
            type="password"
            aria-label="New password"
            placeholder="at least 8 characters"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            style={{ flex: 1 }}
          />
          <button type="submit" disabled={password === ''}>
            Set password
          </button>
        </div>
      </form>
      <div className="row">
        <span className="muted">Deleting a user revokes its tokens at once.</span>
        <span className="spacer" />
        <ConfirmButton
          label="Delete user"
          confirm={`Delete ${user.name}?`}
          onConfirm={() =>
            void run(async () => {
              await api.call('users.delete', { name: user.name });
              props.onDone(undefined, `User ${user.name} deleted.`);
              return '';
            })
          }
        />
      </div>
      <Notice notice={problem ? { ok: false, text: problem } : notice} />
    </div>
  );
}

// ── roles ─────────────────────────────────────────────────────────────────────────────

function Roles(): ReactNode {
  const roles = useOperation('roles.list', {});
  const [selected, setSelected] = useState<string>();
  const [draft, setDraft] = useState<RoleFields>();
  const [flash, setFlash] = useState<NoticeState>();
  const list = roles.data?.roles ?? [];
  const current = list.find((r) => r.name === selected);

  return (
    <div className="split">
      <div className="panel stack" style={{ overflow: 'auto' }}>
        <div className="row">
          <h3>Roles</h3>
          <span className="muted">{count(list.length)}</span>
          <span className="spacer" />
          <button
            className="primary"
            onClick={() => {
              setSelected(undefined);
              setDraft(newRoleFields);
              setFlash(undefined);
            }}
          >
            New role
          </button>
        </div>
        <ErrorNotice error={roles.error} />
        <table className="table pick" aria-label="Roles">
          <thead>
            <tr>
              <th>Role</th>
              <th>Rules</th>
            </tr>
          </thead>
          <tbody>
            {list.map((role) => (
              <tr
                key={role.name}
                className={role.name === selected ? 'selected' : undefined}
                onClick={() => {
                  setSelected(role.name);
                  setDraft(undefined);
                  setFlash(undefined);
                }}
                data-role={role.name}
              >
                <td>
                  <div className="row" style={{ gap: 8 }}>
                    <strong className="mono">{role.name}</strong>
                    {role.builtIn && <span className="badge">built in</span>}
                  </div>
                  {role.description && <div className="muted">{role.description}</div>}
                </td>
                <td className="mono" style={{ fontSize: 14 }}>
                  {role.rules.map((rule, i) => (
                    <div key={i}>{ruleSummary(rule)}</div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="stack" style={{ overflow: 'auto' }}>
        <Notice notice={flash} />
        {current?.builtIn ? (
          <BuiltInRole
            role={current}
            onCopy={() => {
              setSelected(undefined);
              setDraft({ ...roleFieldsOf(current), name: `${current.name}-copy` });
            }}
          />
        ) : current || draft ? (
          <RoleEditor
            key={current?.name ?? 'new'}
            existing={current}
            initial={current ? roleFieldsOf(current) : draft!}
            onDone={(name, message) => {
              setSelected(name);
              setDraft(undefined);
              setFlash(message ? { ok: true, text: message } : undefined);
              roles.reload();
            }}
          />
        ) : (
          <div className="panel empty">Select a role to see its rules, or create one.</div>
        )}
      </div>
    </div>
  );
}

function BuiltInRole(props: { role: WireRole; onCopy: () => void }): ReactNode {
  return (
    <div className="panel stack" aria-label={`Role ${props.role.name}`}>
      <div className="row">
        <h2 className="mono" style={{ fontSize: 22 }}>
          {props.role.name}
        </h2>
        <span className="badge">built in · read-only</span>
      </div>
      {props.role.description && <p style={{ margin: 0 }}>{props.role.description}</p>}
      <table className="table">
        <thead>
          <tr>
            <th>Actions</th>
            <th>Resources</th>
          </tr>
        </thead>
        <tbody>
          {props.role.rules.map((rule, i) => (
            <tr key={i}>
              <td>
                <Chips items={rule.actions} />
              </td>
              <td className="mono">{rule.patterns.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <span className="muted">Built-in roles cannot change. Copy one to start a role of your own.</span>
        <span className="spacer" />
        <button onClick={props.onCopy}>Copy as a new role</button>
      </div>
    </div>
  );
}

function RoleEditor(props: {
  existing?: WireRole;
  initial: RoleFields;
  onDone: (name: string | undefined, message: string) => void;
}): ReactNode {
  const { api } = useBroker();
  const [fields, setFields] = useState<RoleFields>(props.initial);
  const [notice, run] = useAction();
  const [problem, setProblem] = useState<string>();
  const setRule = (index: number, rule: RoleFields['rules'][number]) =>
    setFields((f) => ({ ...f, rules: f.rules.map((r, i) => (i === index ? rule : r)) }));

  const save = (event: FormEvent) => {
    event.preventDefault();
    const parsed = roleOf(fields);
    setProblem(parsed.ok ? undefined : parsed.problem);
    if (!parsed.ok) return;
    void run(async () => {
      const saved = await api.call('roles.put', parsed.role);
      const message = `Role ${saved.name} saved (${count(saved.rules.length)} rules).`;
      // An edited role stays mounted and its own notice says it; a new one remounts under its name.
      props.onDone(saved.name, props.existing ? '' : message);
      return props.existing ? message : '';
    });
  };

  return (
    <form
      className="panel stack"
      onSubmit={save}
      aria-label={props.existing ? `Role ${props.existing.name}` : 'New role'}
    >
      <h2 className={props.existing ? 'mono' : undefined}>{props.existing ? props.existing.name : 'New role'}</h2>
      <div className="form">
        {!props.existing && (
          <label className="field">
            Role name
            <input
              className="mono"
              value={fields.name}
              onChange={(e) => setFields({ ...fields, name: e.target.value })}
              required
            />
          </label>
        )}
        <label className="field wide">
          Description
          <input value={fields.description} onChange={(e) => setFields({ ...fields, description: e.target.value })} />
        </label>
      </div>
      <h3>Rules</h3>
      <p className="muted" style={{ margin: 0 }}>
        A rule grants its actions on every topic or queue its patterns cover (MQTT-style: <code>plant/+/temp</code>,{' '}
        <code>orders</code>, <code>mqtt/#</code>; <code>#</code> is everything; <code>{'${user}'}</code> is the user’s
        name). Management resources: <code>$security</code>, <code>$connections</code>.
      </p>
      {fields.rules.map((rule, index) => (
        <div className="rule" key={index} aria-label={`Rule ${index + 1}`} role="group">
          <div className="checks" style={{ flexDirection: 'column', gap: 4 }}>
            {ruleActions.map((action) => (
              <label key={action} className="check" title={actionHints[action]}>
                <input
                  type="checkbox"
                  checked={rule.actions.includes(action)}
                  onChange={() => setRule(index, toggleAction(rule, action))}
                />
                <span className="mono">{action === '*' ? '* (all)' : action}</span>
              </label>
            ))}
          </div>
          <label className="field">
            Resource patterns (one per line)
            <textarea
              rows={5}
              value={rule.patterns}
              onChange={(e) => setRule(index, { ...rule, patterns: e.target.value })}
              placeholder={'plant/line1/#\norders'}
            />
          </label>
          <button
            type="button"
            className="danger"
            onClick={() => setFields((f) => ({ ...f, rules: f.rules.filter((_, i) => i !== index) }))}
            aria-label={`Remove rule ${index + 1}`}
          >
            Remove
          </button>
        </div>
      ))}
      <div className="row">
        <button type="button" onClick={() => setFields((f) => ({ ...f, rules: [...f.rules, newRule] }))}>
          Add rule
        </button>
        <button className="primary" type="submit">
          Save role
        </button>
        <span className="spacer" />
        {props.existing && (
          <ConfirmButton
            label="Delete role"
            confirm="Delete it? (only if no user has it)"
            onConfirm={() =>
              void run(async () => {
                await api.call('roles.delete', { name: props.existing!.name });
                props.onDone(undefined, `Role ${props.existing!.name} deleted.`);
                return '';
              })
            }
          />
        )}
      </div>
      <Notice notice={problem ? { ok: false, text: problem } : notice} />
    </form>
  );
}

// ── audit ─────────────────────────────────────────────────────────────────────────────

type AuditRecord = OperationOutput<'audit.list'>['records'][number];
type AuditFilter = OperationInput<'audit.export'>;

/** Most records the view loads (10 pages); the export has them all. */
const auditMax = 10_000;

const sinceChoices: ReadonlyArray<readonly [string, number | undefined]> = [
  ['Any time', undefined],
  ['Last hour', 60 * 60_000],
  ['Last 24 hours', 24 * 60 * 60_000],
  ['Last 7 days', 7 * 24 * 60 * 60_000],
];

function Audit(): ReactNode {
  const { api } = useBroker();
  const [user, setUser] = useState('');
  const [operation, setOperation] = useState('');
  const [result, setResult] = useState<'' | 'ok' | 'refused' | 'failed'>('');
  const [since, setSince] = useState(0);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<Error>();
  const [generation, setGeneration] = useState(0);
  const [active, setActive] = useState(0);
  const [notice, run] = useAction();

  const filter = useMemo<AuditFilter>(() => {
    const sinceMs = sinceChoices[since]?.[1];
    return {
      ...(user.trim() && { user: user.trim() }),
      ...(operation.trim() && { operation: operation.trim() }),
      ...(result && { result }),
      ...(sinceMs !== undefined && { from: Date.now() - sinceMs }),
    };
    // `generation` makes "Refresh" recompute the time window.
  }, [user, operation, result, since, generation]);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const loaded: AuditRecord[] = [];
        let afterId: string | undefined;
        let next: string | null = null;
        do {
          const page = await api.call('audit.list', { ...filter, limit: 1000, ...(afterId && { afterId }) });
          loaded.push(...page.records);
          next = page.nextAfterId;
          afterId = next ?? undefined;
        } while (next !== null && loaded.length < auditMax && !cancelled);
        if (cancelled) return;
        setRecords(loaded.reverse()); // newest first
        setMore(next !== null);
        setError(undefined);
      } catch (failure) {
        if (!cancelled) setError(failure as Error);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, filter]);

  const exportNdjson = () =>
    void run(async () => {
      const lines = await api.collect('audit.export', filter);
      const blob = new Blob(
        lines.map((line) => `${JSON.stringify(line)}\n`),
        { type: 'application/x-ndjson' },
      );
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
      link.click();
      URL.revokeObjectURL(link.href);
      return `Exported ${count(lines.length)} audit records.`;
    });

  const current = records[Math.min(active, records.length - 1)];
  return (
    <>
      <div className="row" role="search" aria-label="Audit filter">
        <input aria-label="User" placeholder="user" value={user} onChange={(e) => setUser(e.target.value)} />
        <input
          aria-label="Operation"
          placeholder="operation (users.create, login…)"
          value={operation}
          onChange={(e) => setOperation(e.target.value)}
          style={{ width: 280 }}
        />
        <select aria-label="Result" value={result} onChange={(e) => setResult(e.target.value as typeof result)}>
          <option value="">Any result</option>
          <option value="ok">ok</option>
          <option value="refused">refused</option>
          <option value="failed">failed</option>
        </select>
        <select aria-label="Since" value={since} onChange={(e) => setSince(Number(e.target.value))}>
          {sinceChoices.map(([label], i) => (
            <option key={label} value={i}>
              {label}
            </option>
          ))}
        </select>
        <button onClick={() => setGeneration((n) => n + 1)}>Refresh</button>
        <span className="muted">
          {count(records.length)} records{more && ` (newest ${count(auditMax)}; export has all)`}
        </span>
        <span className="spacer" />
        <button onClick={exportNdjson}>Export NDJSON</button>
      </div>
      <ErrorNotice error={error} />
      <Notice notice={notice} />
      <div className="vhead" aria-hidden="true">
        <span style={{ width: 110 }}>Time</span>
        <span style={{ width: 120 }}>User</span>
        <span style={{ width: 70 }}>Via</span>
        <span style={{ width: 200 }}>Operation</span>
        <span style={{ flex: 1 }}>Resource</span>
        <span style={{ width: 80 }}>Result</span>
      </div>
      {records.length === 0 ? (
        <div className="panel empty">{error ? 'The audit log could not be read.' : 'No audit records match.'}</div>
      ) : (
        <VirtualList
          label="Audit log"
          testId="audit-list"
          count={records.length}
          rowKey={(i) => records[i]!.id}
          active={Math.min(active, records.length - 1)}
          onActiveChange={setActive}
          renderRow={(i) => <AuditRow record={records[i]!} />}
        />
      )}
      {current && (
        <div className="panel">
          <Details
            rows={[
              ['When', new Date(current.at).toLocaleString()],
              [
                'Who',
                `${current.user ?? 'anonymous'} via ${current.protocol}${current.address ? ` from ${current.address}` : ''}`,
              ],
              ['What', `${current.operation} on ${current.resource}`],
              ['Result', `${current.result}${current.code ? ` (${current.code})` : ''}`],
              ['Detail', current.detail ?? '—'],
            ]}
          />
        </div>
      )}
    </>
  );
}

function AuditRow(props: { record: AuditRecord }): ReactNode {
  const r = props.record;
  return (
    <>
      <span className="mono" style={{ width: 110 }}>
        {time(r.at)}
      </span>
      <span className="cell mono" style={{ width: 120 }}>
        {r.user ?? '—'}
      </span>
      <span className="muted" style={{ width: 70 }}>
        {r.protocol}
      </span>
      <span className="cell mono" style={{ width: 200 }}>
        {r.operation}
      </span>
      <span className="cell mono" style={{ flex: 1 }}>
        {r.resource}
      </span>
      <span className={`result-${r.result}`} style={{ width: 80 }}>
        {r.result}
      </span>
    </>
  );
}
