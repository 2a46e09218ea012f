/** The Overview's alarm line, in a file of its own: alarms.ts and bridges.ts both make them. */

/** One alarm line. */
export interface Alarm {
  readonly severity: 'warn' | 'danger';
  readonly text: string;
  /** A second, smaller line (a bridge's upstream, backlog, last success and last error). */
  readonly detail?: string;
  /** Where to go to act on it. */
  readonly view: 'queues' | 'dead' | 'overview' | 'bridges';
  /** A stable React key when the text changes as time passes (defaults to the text). */
  readonly key?: string;
}
