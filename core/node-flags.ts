/**
 * V8 flags for a process that hosts the broker. A message's objects (parsed packet, draft, log
 * row, promise, delivery) live for about one group commit; with a 32 MB semi-space (a 64 MB young
 * generation instead of 32 MB) most of them die before a scavenge copies them. Measured on MQTT
 * QoS 0 16→1: +20–30% throughput for about 30 MB more RSS (docs/benchmarks.md).
 *
 * A flag of the heap's size must be given when the process starts (v8.setFlagsFromString is too
 * late), so `npm run serve` (package.json), the `npm start` launcher (scripts/start.mjs), the soak
 * and the benchmarks pass these, and the `sluice` bin (bin/sluice.mjs) imports them and starts
 * Node once more with them for `serve`; test/unit/node-flags.test.ts keeps those copies in step.
 */
export const brokerNodeFlags: readonly string[] = ['--max-semi-space-size=32'];

/**
 * The flags of `flags` that `given` lacks, matched by name: a `--max-semi-space-size=64` given
 * counts as `--max-semi-space-size` given (the user's own value wins). The `sluice` bin passes
 * Node's own flags and NODE_OPTIONS, the desktop app its `--js-flags` (electron/launch-flags.ts).
 */
export function missingNodeFlags(given: readonly string[], flags: readonly string[]): string[] {
  const names = new Set(given.map((flag) => flag.split('=')[0]));
  return flags.filter((flag) => !names.has(flag.split('=')[0]));
}
