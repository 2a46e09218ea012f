/** Who this window acts as, with the logout button (sidebar foot). */
import type { ReactNode } from 'react';
import { useSession } from '../Gate.tsx';

export function WhoAmI(): ReactNode {
  const session = useSession();
  if (!session) return null;
  if (session.kind === 'anonymous')
    return (
      <div className="who">
        <span className="muted">Anonymous access (no login)</span>
      </div>
    );
  return (
    <div className="who" data-testid="who">
      <span className="muted">Logged in as</span>
      <span className="who-name mono">{session.user}</span>
      {session.roles.length > 0 && <span className="muted">{session.roles.join(', ')}</span>}
      <button onClick={session.logout}>Log out</button>
    </div>
  );
}
