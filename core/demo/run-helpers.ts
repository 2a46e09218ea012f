/** Small pure helpers of a scenario run: timing, payload inspection, narration formats. */

/** The first required field (`a|b`: either) the payload lacks, or undefined when it has all. */
export function missingField(
  body: Record<string, unknown> | undefined,
  required: readonly string[],
): string | undefined {
  return required.find((field) => !field.split('|').some((name) => body !== undefined && name in body));
}

/**
 * Fills a payload template: a string that is a whole token takes the token's value (a number
 * stays a number); tokens inside a string are replaced by their text; arrays and objects recurse.
 */
export function fillPayload(template: unknown, tokens: Readonly<Record<string, unknown>>): unknown {
  if (typeof template === 'string') {
    if (template in tokens) return tokens[template];
    return template.replace(/\{\{(seq|run|plantTime|value)\}\}/g, (token) => String(tokens[token]));
  }
  if (Array.isArray(template)) return template.map((item) => fillPayload(item, tokens));
  if (template !== null && typeof template === 'object')
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, fillPayload(value, tokens)]));
  return template;
}

/** A JSON object payload, or undefined when the text is not one. */
export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Plant time for narration: `45 min`, `2 h 5 min`. */
export function formatPlant(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)} h ${minutes % 60 ? `${minutes % 60} min` : ''}`.trim()
    : `${minutes} min`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** `work`, or a rejection once `ms` passed (a stuck consumer must not hang a class). */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
