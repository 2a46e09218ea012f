/** The views (DESIGN.md: UI), in sidebar order; the digit keys 1–9 and 0 (the tenth) jump to them. */

export const views = [
  { id: 'overview', title: 'Overview' },
  { id: 'topics', title: 'Topics' },
  { id: 'queues', title: 'Queues' },
  { id: 'dead', title: 'Dead messages' },
  { id: 'replay', title: 'Replay' },
  { id: 'publish', title: 'Publish' },
  { id: 'connections', title: 'Connections' },
  { id: 'security', title: 'Security' },
  { id: 'demo', title: 'Demo' },
  { id: 'bridges', title: 'Bridges' },
  { id: 'sparkplug', title: 'Sparkplug' },
  { id: 'settings', title: 'Settings' },
] as const;

/** Views reached by links from other views, not from the sidebar. */
export const linkedViews = [{ id: 'journey', title: 'Message journey' }] as const;

/** A view's id. */
export type ViewId = (typeof views)[number]['id'] | (typeof linkedViews)[number]['id'];

/** The view a location hash names (`#/queues` → queues); unknown → overview. */
export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return [...views, ...linkedViews].find((view) => view.id === id)?.id ?? 'overview';
}

/** The digit key that opens the view at `index` in the sidebar: 1–9, then 0 for the tenth. */
export function viewKey(index: number): string | undefined {
  return index < 9 ? String(index + 1) : index === 9 ? '0' : undefined;
}

/** The sidebar index a digit key opens (`0` is the tenth), or undefined. */
export function viewIndexOfKey(key: string): number | undefined {
  if (!/^[0-9]$/.test(key)) return undefined;
  return key === '0' ? 9 : Number(key) - 1;
}

/** A link to the Queues view with `name` selected. */
export function queueHref(name: string): string {
  return `#/queues?queue=${encodeURIComponent(name)}`;
}

/** The queue a location hash selects (`#/queues?queue=bridge%2Fplant` → bridge/plant). */
export function queueFromHash(hash: string): string | undefined {
  const query = hash.split('?')[1];
  return query === undefined ? undefined : (new URLSearchParams(query).get('queue') ?? undefined);
}

/** A link to the journey of message `id` (docs/journey.md). */
export function journeyHref(id: string): string {
  return `#/journey?id=${encodeURIComponent(id)}`;
}

/** The message id a journey hash names (`#/journey?id=42` → 42). */
export function journeyIdFromHash(hash: string): string | undefined {
  const query = hash.split('?')[1];
  return query === undefined ? undefined : (new URLSearchParams(query).get('id') ?? undefined);
}
