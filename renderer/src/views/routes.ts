/** The views (DESIGN.md: UI), in sidebar order; the digit keys 1–9 jump to them. */

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
] as const;

/** A view's id. */
export type ViewId = (typeof views)[number]['id'];

/** The view a location hash names (`#/queues` → queues); unknown → overview. */
export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return views.find((view) => view.id === id)?.id ?? 'overview';
}
