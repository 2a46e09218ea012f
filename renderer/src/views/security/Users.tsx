/** Security › Users: create a user, set a password, assign roles, delete (docs/security.md). */
import { useState, type FormEvent, type ReactNode } from 'react';
import type { OperationOutput } from '../../../../core/api/contract.ts';
import { useBroker, useOperation } from '../../api/hooks.ts';
import { ConfirmButton, Notice } from '../../components/bits.tsx';
import { useSession } from '../../Gate.tsx';
import { time } from '../../logic/format.ts';
import { newUserProblem, passwordProblem } from '../../logic/security-forms.ts';
import { Chips, PickList, useAction, type NoticeState } from './shared.tsx';

type WireUser = OperationOutput<'users.list'>['users'][number];

/** The Users tab: the list on the left, the new-user form or the selected user on the right. */
export function Users(): ReactNode {
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
      <PickList
        title="Users"
        newLabel="New user"
        items={list}
        error={users.error}
        selected={selected}
        columns={['User', 'Roles', 'Created']}
        rowAttribute="data-user"
        onNew={() => {
          setSelected(undefined);
          setFlash(undefined);
        }}
        onPick={(name) => {
          setSelected(name);
          setFlash(undefined);
        }}
        cells={(user) => (
          <>
            <td className="mono">
              {user.name}
              {user.name === me && <span className="muted"> (you)</span>}
            </td>
            <td>
              <Chips items={user.roles} />
            </td>
            <td className="muted">{time(user.createdAt)}</td>
          </>
        )}
      />
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
