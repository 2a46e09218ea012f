import { toSluiceError } from '../../errors.ts';
import type { Principal, SecurityPolicy } from '../../security/authorize.ts';

/** Who authenticated on one connection, filled in by its SASL exchange. */
export interface Authentication {
  principal: Principal | null;
  /** Why the last attempt failed, for the log. */
  failure?: string;
}

/** rhea's server mechanism shape (node_modules/rhea/lib/sasl.js): start() sets `outcome` and `username`. */
interface ServerMechanism {
  outcome: boolean | undefined;
  username: string | undefined;
  start(response: Buffer | undefined, hostname?: string): Promise<void> | void;
}

/** RFC 4616 PLAIN: [authzid] NUL authcid NUL passwd. */
function splitPlain(response: Buffer | undefined): { username: string; password: string } | null {
  if (!response) return null;
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= response.length; i++)
    if (i === response.length || response[i] === 0) {
      parts.push(response.toString('utf8', start, i));
      start = i + 1;
    }
  if (parts.length !== 3) return null;
  return { username: parts[1]!, password: parts[2]! };
}

/**
 * The SASL mechanisms one connection offers (AMQP 1.0 §5.3), checked by core/security like every
 * other door: PLAIN always, ANONYMOUS only when the config allows anonymous access.
 */
export function saslMechanisms(
  security: SecurityPolicy,
  auth: Authentication,
  options: { allowAnonymous: boolean; clientId: () => string | undefined; address?: string | undefined },
): Record<string, () => ServerMechanism> {
  const authenticate = async (mechanism: ServerMechanism, username: string | undefined, password?: string) => {
    try {
      const clientId = options.clientId();
      auth.principal = await security.authenticate({
        protocol: 'amqp',
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password }),
        ...(clientId !== undefined && { clientId }),
        // Brute-force slowdown is per user and address: without it every AMQP login shares one record.
        ...(options.address !== undefined && { address: options.address }),
      });
      mechanism.outcome = true;
      mechanism.username = username;
    } catch (error) {
      auth.failure = toSluiceError(error).detail;
      mechanism.outcome = false;
    }
  };
  const mechanisms: Record<string, () => ServerMechanism> = {
    PLAIN: () => {
      const mechanism: ServerMechanism = {
        outcome: undefined,
        username: undefined,
        start(response) {
          const credentials = splitPlain(response);
          if (!credentials) {
            auth.failure = 'malformed PLAIN response';
            mechanism.outcome = false;
            return;
          }
          return authenticate(mechanism, credentials.username, credentials.password);
        },
      };
      return mechanism;
    },
  };
  if (options.allowAnonymous)
    mechanisms['ANONYMOUS'] = () => {
      const mechanism: ServerMechanism = {
        outcome: undefined,
        username: undefined,
        start() {
          return authenticate(mechanism, undefined);
        },
      };
      return mechanism;
    };
  return mechanisms;
}
