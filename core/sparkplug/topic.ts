/**
 * Sparkplug B topic names (Sparkplug 3.0 §4.1): `spBv1.0/<group_id>/<message_type>/<edge_node_id>`
 * for node messages, `…/<device_id>` for device messages, and `spBv1.0/STATE/<host_id>` for a
 * primary host application's state.
 */

/** The namespace level every Sparkplug B topic starts with. */
export const namespacePrefix = 'spBv1.0/';

/** Message types about an edge node itself. */
export const nodeMessageTypes = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD'] as const;
/** Message types about a device under an edge node. */
export const deviceMessageTypes = ['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;

/** A node or device message type. */
export type MessageType = (typeof nodeMessageTypes)[number] | (typeof deviceMessageTypes)[number];

/** What a Sparkplug topic names. */
export type SparkplugTopic =
  | { readonly kind: 'node'; readonly group: string; readonly type: MessageType; readonly node: string }
  | {
      readonly kind: 'device';
      readonly group: string;
      readonly type: MessageType;
      readonly node: string;
      readonly device: string;
    }
  | { readonly kind: 'state'; readonly host: string };

const isNodeType = (type: string): type is (typeof nodeMessageTypes)[number] =>
  (nodeMessageTypes as readonly string[]).includes(type);
const isDeviceType = (type: string): type is (typeof deviceMessageTypes)[number] =>
  (deviceMessageTypes as readonly string[]).includes(type);

/** Parses a topic under `spBv1.0/`; undefined when it is not a valid Sparkplug topic. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  if (!topic.startsWith(namespacePrefix)) return undefined;
  const levels = topic.slice(namespacePrefix.length).split('/');
  if (levels.some((level) => level.length === 0)) return undefined;
  if (levels[0] === 'STATE' && levels.length === 2) return { kind: 'state', host: levels[1]! };
  const [group, type, node, device] = levels as [string, string, string?, string?];
  if (node === undefined) return undefined;
  if (levels.length === 3 && isNodeType(type)) return { kind: 'node', group, type, node };
  if (levels.length === 4 && isDeviceType(type)) return { kind: 'device', group, type, node, device: device! };
  return undefined;
}
