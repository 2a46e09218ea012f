/** Security › Roles and rules: roles with their ACL rules; built-in roles read-only (docs/security.md). */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useBroker, useOperation } from '../../api/hooks.ts';
import { ConfirmButton, Notice } from '../../components/bits.tsx';
import { count } from '../../logic/format.ts';
import {
  actionHints,
  newRoleFields,
  newRule,
  roleFieldsOf,
  roleOf,
  ruleActions,
  ruleSummary,
  toggleAction,
  type RoleFields,
  type WireRole,
} from '../../logic/security-forms.ts';
import { Chips, PickList, useAction, type NoticeState } from './shared.tsx';

/** The Roles tab: the list on the left, the selected role (read-only if built in) or its editor on the right. */
export function Roles(): ReactNode {
  const roles = useOperation('roles.list', {});
  const [selected, setSelected] = useState<string>();
  const [draft, setDraft] = useState<RoleFields>();
  const [flash, setFlash] = useState<NoticeState>();
  const list = roles.data?.roles ?? [];
  const current = list.find((r) => r.name === selected);

  return (
    <div className="split">
      <PickList
        title="Roles"
        newLabel="New role"
        items={list}
        error={roles.error}
        selected={selected}
        columns={['Role', 'Rules']}
        rowAttribute="data-role"
        onNew={() => {
          setSelected(undefined);
          setDraft(newRoleFields);
          setFlash(undefined);
        }}
        onPick={(name) => {
          setSelected(name);
          setDraft(undefined);
          setFlash(undefined);
        }}
        cells={(role) => (
          <>
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
          </>
        )}
      />
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
