/** Number shapes the contract's schemas share. Browser-safe. */
import { z } from 'zod';

/** Milliseconds since the Unix epoch. */
export const epochMs = z.number().int().nonnegative();
/** A count: a non-negative integer. */
export const count = z.number().int().nonnegative();
