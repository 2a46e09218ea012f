/**
 * Wills remember who set them (DESIGN.md: authorize the flow): a will is published with the rights
 * of the user whose client set it, also by aedes' sweep after a crash, which has no connection to
 * take rights from. Set by EnginePersistence.putWill, read by the publish authorization.
 */
import type { AedesPacket } from './persistence.ts';

/** The field of a stored will naming the user who set it (null: anonymous). */
export const willUserField = 'sluiceUser';

/** A will as Sluice stores it. */
export type WillPacket = AedesPacket & { [willUserField]?: string | null };

/** A will (stored by putWill: it carries the broker id and its setter); client PUBLISHes have neither. */
export function isWill(packet: AedesPacket): boolean {
  return willUserField in packet || typeof packet.brokerId === 'string';
}
