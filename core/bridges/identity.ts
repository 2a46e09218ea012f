import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file in the data directory that holds this broker's id. */
export const brokerIdFile = 'broker-id';

/**
 * This broker's id, made once and kept in the data directory: bridges stamp it on what they
 * forward (`sluice-origin`) and recognise it when it comes back. Copying a data directory copies
 * the id; delete the file in the copy to give it a new one.
 */
export function loadBrokerId(dataDir: string): string {
  const file = join(dataDir, brokerIdFile);
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id.length > 0) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const id = randomUUID();
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx' });
    return id;
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
}
