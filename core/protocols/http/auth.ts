/**
 * Who an HTTP request is: `Authorization: Basic …` (user name and password, scrypt-checked and
 * brute-force throttled on every request — use a token for high request rates) or
 * `Authorization: Bearer <token>` (from `POST /api/v1/auth/login`); without either, anonymous
 * when the config allows it, else 401. Operations declared `public` need nothing.
 */
import type { IncomingMessage } from 'node:http';
import type { CallContext, Service } from '../../api/service.ts';
import { SluiceError } from '../../errors.ts';

/** The challenge sent with 401 (Bearer only: a Basic challenge would make browsers pop up a login box). */
export const authenticateChallenge = { 'www-authenticate': 'Bearer realm="sluice"' } as const;

/** The call context of a request; throws not-authenticated (401). */
export async function requestContext(req: IncomingMessage, service: Service, isPublic: boolean): Promise<CallContext> {
  const address = req.socket.remoteAddress;
  const base = { protocol: 'http', ...(address !== undefined && { address }) };
  if (isPublic) {
    const token = bearerToken(req);
    return { principal: { ...base, user: null }, ...(token !== undefined && { token }) };
  }
  const header = req.headers.authorization;
  if (header === undefined || header.trim() === '') return { principal: await service.policy.authenticate(base) };
  const [scheme, value = ''] = header.trim().split(/\s+/, 2);
  if (scheme!.toLowerCase() === 'bearer')
    return { principal: await service.policy.authenticate({ ...base, token: value }), token: value };
  if (scheme!.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new SluiceError('not-authenticated', 'Basic credentials must be base64 of user:password');
    return {
      principal: await service.policy.authenticate({
        ...base,
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
      }),
    };
  }
  throw new SluiceError('not-authenticated', `Unsupported Authorization scheme "${scheme}": use Basic or Bearer`);
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization?.trim();
  if (!header?.toLowerCase().startsWith('bearer ')) return undefined;
  return header.slice(7).trim();
}
