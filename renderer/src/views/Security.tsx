/**
 * Security: users, roles, ACLs and the audit log. The broker's contract has no security
 * operations yet; this view says so rather than pretending.
 */
import type { ReactNode } from 'react';

export function Security(): ReactNode {
  return (
    <section className="view" aria-label="Security">
      <div className="notice" role="note">
        This broker’s API has no security operations yet (users, roles, ACLs, audit log, login). Once the contract
        declares them, they appear here.
      </div>
    </section>
  );
}
