/**
 * Administration of the broker as a whole: demo scenarios, the bridges' status, configuration
 * export and import (with the RabbitMQ converter and the JSON Schema), and backups.
 */
import type { BridgeStatus } from '../../schema/bridge-status.ts';
import { configDocumentJsonSchema } from '../../schema/config-document.ts';
import type { DemoRunner } from '../../demo/demo-runner.ts';
import type { ConfigTransfer } from '../config-transfer.ts';
import type { AreaHandlers, StreamHandlers } from './context.ts';

/** The handlers of demo, bridges, config and backup operations. */
export function adminHandlers(demo: DemoRunner, bridges: () => readonly BridgeStatus[], transfer: ConfigTransfer) {
  const unary: AreaHandlers<'demo' | 'bridges' | 'config' | 'backup'> = {
    'demo.list': () => ({ scenarios: demo.list() }),
    'demo.start': ({ name, speed }) => demo.start(name, speed),
    'demo.status': () => demo.status(),
    'demo.stop': () => demo.stop(),
    'demo.reset': ({ name }) => demo.reset(name),
    'bridges.status': () => ({ bridges: [...bridges()] }),
    'config.export': ({ includeSecrets }) => transfer.export(includeSecrets),
    'config.import': ({ document, dryRun }) => transfer.import(document, dryRun),
    'config.schema': () => configDocumentJsonSchema(),
    'config.rabbitmq': ({ vhost }) => transfer.rabbitmq(vhost),
    'backup.start': () => transfer.backups.start(),
    'backup.get': ({ id }) => transfer.backups.get(id),
  };
  const streams: Pick<StreamHandlers, 'backup.download'> = {
    'backup.download': ({ id }) => transfer.backups.download(id),
  };
  return { unary, streams };
}
