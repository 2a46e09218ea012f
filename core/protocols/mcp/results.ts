/**
 * What an agent gets back from a tool: payloads previewed, never dumped; answers kept under a
 * byte budget by cutting the longest list and moving its paging cursor to the last item shown;
 * and a one-line summary first, so a model reads the gist before the JSON (docs/mcp.md).
 */

/** Bounds for one tool answer. */
export interface ResultLimits {
  /** Largest JSON text one answer carries (bytes, UTF-8). */
  readonly maxResultBytes: number;
  /** Payload characters kept per message (utf8 text, or base64 characters). */
  readonly payloadPreviewChars: number;
}

/** Defaults: 24 KiB an answer (a few thousand tokens), 256 characters of each payload. */
export const defaultResultLimits: ResultLimits = { maxResultBytes: 24 * 1024, payloadPreviewChars: 256 };

/** An answer cut to the budget: which list, how many of how many are shown. */
export interface Truncation {
  readonly field: string;
  readonly shown: number;
  readonly total: number;
}

/** Replaces every `payload` (with its `payloadEncoding`) by a preview plus its full size. */
export function previewPayloads(value: unknown, maxChars: number): unknown {
  if (Array.isArray(value)) return value.map((item) => previewPayloads(item, maxChars));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(object)) out[key] = previewPayloads(field, maxChars);
  if (
    typeof object.payload === 'string' &&
    (object.payloadEncoding === 'utf8' || object.payloadEncoding === 'base64')
  ) {
    const payload = object.payload;
    const bytes =
      object.payloadEncoding === 'utf8'
        ? new TextEncoder().encode(payload).length
        : Math.floor((payload.length * 3) / 4) - (payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0);
    out.payloadBytes = typeof object.size === 'number' ? object.size : bytes;
    if (payload.length > maxChars) {
      // base64 is cut on a 4-character boundary so the preview still decodes.
      let keep = object.payloadEncoding === 'base64' ? maxChars - (maxChars % 4) : maxChars;
      // Never end a text preview in half a surrogate pair.
      if (keep > 0 && /[\uD800-\uDBFF]/.test(payload.charAt(keep - 1))) keep--;
      out.payload = payload.slice(0, keep);
      out.payloadTruncated = true;
    }
  }
  return out;
}

const byteLength = (text: string) => new TextEncoder().encode(text).length;

/**
 * Cuts the longest top-level list until the JSON fits `maxBytes`. A paging cursor beside it
 * (`next…`) is moved to the last item shown, so the agent's next page starts where this one ends.
 */
export function fitToBudget(
  output: Record<string, unknown>,
  maxBytes: number,
): { output: Record<string, unknown>; truncation?: Truncation } {
  if (byteLength(JSON.stringify(output)) <= maxBytes) return { output };
  const lists = Object.entries(output).filter((entry): entry is [string, unknown[]] => Array.isArray(entry[1]));
  if (lists.length === 0) return { output };
  const [field, items] = lists.reduce((a, b) => (JSON.stringify(b[1]).length > JSON.stringify(a[1]).length ? b : a));
  const cursorField = Object.keys(output).find((key) => key.startsWith('next'));
  const withFirst = (count: number): Record<string, unknown> => {
    const shown = items.slice(0, count);
    const last = shown[shown.length - 1] as Record<string, unknown> | undefined;
    const cursor = last?.entryId ?? last?.id;
    return {
      ...output,
      [field]: shown,
      ...(cursorField && typeof cursor === 'string' && { [cursorField]: cursor }),
      truncated: { field, shown: count, total: items.length },
    };
  };
  // Binary search for the most items that fit.
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (byteLength(JSON.stringify(withFirst(mid))) <= maxBytes) low = mid;
    else high = mid - 1;
  }
  return { output: withFirst(low), truncation: { field, shown: low, total: items.length } };
}

/** One line saying what the answer holds: list sizes, the next-page cursor, a cut. */
export function summarise(tool: string, output: Record<string, unknown>, truncation?: Truncation): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(output)) {
    if (Array.isArray(value)) parts.push(`${truncation?.field === key ? truncation.shown : value.length} ${key}`);
    else if (key.startsWith('next') && typeof value === 'string') parts.push(`next page: ${key}=${value}`);
  }
  if (truncation)
    parts.push(
      `cut to ${truncation.shown} of ${truncation.total} ${truncation.field} to stay small; ask for the next page or a narrower filter`,
    );
  return parts.length > 0 ? `${tool}: ${parts.join(', ')}` : `${tool}: ok`;
}
