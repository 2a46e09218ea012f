/** The soak's fault schedule and its full-disk episode (bench/soak/run.ts runs them). */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Scheduled {
  readonly at: number;
  readonly kind: 'kill-9' | 'consumer-stall' | 'bridge-outage' | 'disk-full' | 'replay';
  readonly lengthMs: number;
  done?: boolean;
}

/** Kills at random every few minutes (every 20–40 s in a short run), the rest at fixed points. */
export function faultSchedule(durationMs: number): Scheduled[] {
  const short = durationMs <= 5 * 60_000;
  const items: Scheduled[] = [];
  const [minGap, maxGap] = short ? [20_000, 40_000] : [120_000, 300_000];
  for (let at = minGap; at < durationMs - 15_000; at += minGap + Math.random() * (maxGap - minGap))
    items.push({ at, kind: 'kill-9', lengthMs: 0 });
  items.push({ at: durationMs * 0.2, kind: 'consumer-stall', lengthMs: Math.min(durationMs * 0.15, 180_000) });
  items.push({ at: durationMs * 0.4, kind: 'bridge-outage', lengthMs: Math.min(durationMs * 0.1, 90_000) });
  items.push({ at: durationMs * 0.65, kind: 'disk-full', lengthMs: Math.min(durationMs * 0.05, 30_000) });
  const replayEvery = Math.max(30_000, durationMs / 6);
  for (let at = replayEvery / 2; at < durationMs - 10_000; at += replayEvery)
    items.push({ at, kind: 'replay', lengthMs: 0 });
  return items;
}

/** Mounts a tmpfs of `sizeMb` on `dir` (root only), so the disk can be filled without filling the machine. */
export function mountTmpfs(dir: string, sizeMb: number): { mounted: boolean; reason: string; unmount(): void } {
  if (process.getuid?.() !== 0)
    return { mounted: false, reason: 'needs root to mount a small filesystem', unmount() {} };
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    return { mounted: false, reason: `mount failed: ${(error as Error).message.split('\n')[0]}`, unmount() {} };
  }
  return { mounted: true, reason: '', unmount: () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) };
}

/** Writes a ballast file until the filesystem is full; returns its path. */
export function fillDisk(dir: string): string {
  const path = join(dir, 'ballast');
  const chunk = Buffer.alloc(1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Bytes of the files in `dir`, the ballast left out. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'ballast') continue;
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}
