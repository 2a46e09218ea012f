import { createRequire } from 'node:module';
import { test } from 'node:test';
import { SqlitePersistence } from '../../core/protocols/mqtt/persistence.ts';
import { MqttPersistenceStore } from '../../core/store/mqtt-persistence-store.ts';
import { SqliteStore } from '../../core/store/sqlite-store.ts';
import { tempDir } from '../helpers/engine.ts';

// STYLE.md §12: the SQLite-backed aedes persistence passes aedes-persistence's own abstract suite.
const abstractPersistence = createRequire(import.meta.url)('aedes-persistence/abstract') as (options: object) => void;

const { dir, cleanup } = tempDir('sluice-mqtt-persistence-');
let instances = 0;

abstractPersistence({
  test,
  testAsync: true,
  persistence: () => {
    const store = SqliteStore.open({ file: `${dir}/db-${++instances}.db` });
    const persistence = new SqlitePersistence(new MqttPersistenceStore(store.database), async (work) =>
      store.transaction(work),
    );
    const destroy = persistence.destroy.bind(persistence);
    persistence.destroy = async () => {
      await destroy();
      store.close();
    };
    return persistence;
  },
});

test.after(() => cleanup());
