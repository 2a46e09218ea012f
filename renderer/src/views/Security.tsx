/**
 * Security: users (create, set password, assign roles, delete), roles with their ACL rules
 * (built-in roles read-only), and the audit log (filter, virtualised, export NDJSON). Every
 * operation here needs `manage` on `$security`; without it the broker's 403 is shown as a
 * permission notice (docs/security.md).
 */
import { useState, type ReactNode } from 'react';
import { Audit } from './security/Audit.tsx';
import { Roles } from './security/Roles.tsx';
import { Users } from './security/Users.tsx';

type Tab = 'users' | 'roles' | 'audit';

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
