import * as m001 from './001-initial.ts';
import * as m002 from './002-mqtt.ts';
import * as m003 from './003-security.ts';
import * as m004 from './004-mqtt-session-expiry.ts';
import * as m005 from './005-delivery-history.ts';
import * as m006 from './006-security-owners.ts';
import * as m007 from './007-mqtt-session-interval.ts';
import * as m008 from './008-push-consumers.ts';
import * as m009 from './009-journey.ts';

/** A schema step; `version` is stored in PRAGMA user_version once applied. */
export interface Migration {
  readonly version: number;
  readonly up: string;
}

/** All migrations in order. Append only: a released migration is never edited. */
export const migrations: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009];
