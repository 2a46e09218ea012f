/**
 * HTTP routes, derived from the contract's bindings (STYLE.md §9): one route per operation,
 * matched on method and path; `:name` segments become input fields.
 */
import { SluiceError } from '../../errors.ts';
import {
  contract,
  operationNames,
  pathParamNames,
  type HttpMethod,
  type Operation,
  type OperationName,
} from '../../api/contract.ts';

/** One operation's route. */
export interface Route {
  readonly name: OperationName;
  readonly operation: Operation;
  readonly method: HttpMethod;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

/** What matching a request found. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'wrong-method'; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: 'none' };

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Compiles a path template: `:name` matches one segment, `:id:cancel` a segment ending in
 * `:cancel`, `:topic*` one or more segments (slashes included).
 */
function compilePath(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return escape(segment);
      const [name, ...verb] = segment.slice(1).split(':');
      return `(${name!.endsWith('*') ? '.+' : '[^/]+'})${verb.length > 0 ? escape(`:${verb.join(':')}`) : ''}`;
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Every operation's route, literal paths before parameterised ones. */
export const routes: readonly Route[] = operationNames
  .map((name): Route => {
    const operation: Operation = contract[name];
    return {
      name,
      operation,
      method: operation.http.method,
      pattern: compilePath(operation.http.path),
      params: pathParamNames(operation.http.path),
    };
  })
  .sort((a, b) => a.params.length - b.params.length);

/** Finds the route for a request path (still URI-encoded). */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const allowed: HttpMethod[] = [];
  for (const route of routes) {
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.params.forEach((param, index) => {
      params[param] = decodeSegment(match[index + 1]!);
    });
    return { kind: 'found', route, params };
  }
  return allowed.length > 0 ? { kind: 'wrong-method', allowed } : { kind: 'none' };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SluiceError('invalid-input', `"${segment}" is not a valid URI-encoded path segment`);
  }
}
