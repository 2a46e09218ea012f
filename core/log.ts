import { pino, destination, type Logger } from 'pino';

export type { Logger };

/** The broker's structured logger (JSON lines on stderr; pretty printing is left to the reader). */
export function createLogger(level: string, name = 'sluice'): Logger {
  return pino({ name, level }, destination(2));
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
