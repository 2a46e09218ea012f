import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { SqliteStore } from '../../core/store/sqlite-store.ts';
import type { MessageDraft } from '../../core/store/store.ts';
import { tempDir } from '../helpers/engine.ts';

// core/store/log-appends.ts: log rows wait in memory and are written in multi-row INSERTs at the
// end of the transaction. What SQLite's one-INSERT-per-row gave must still hold, on a real file.

const { dir, cleanup } = tempDir('sluice-log-appends-');
after(cleanup);
let files = 0;
const openStore = (file = `${dir}/log-${++files}.db`) => ({ file, store: SqliteStore.open({ file }) });

const draft = (topic: string, payload = 'x'): MessageDraft => ({
  topic,
  payload: Buffer.from(payload),
  props: {},
  propsJson: null,
  expiresAt: null,
  dmqEligible: true,
  size: payload.length + topic.length,
});

describe('log appends written with their commit', () => {
  test('a statement reading the log later in the same transaction sees the rows appended before it', () => {
    const { store } = openStore();
    try {
      store.transaction((tx) => {
        const first = store.appendMessage(tx, 1000, draft('a/1', 'one'));
        const second = store.appendMessage(tx, 1001, draft('a/2', 'two'));
        assert.equal(store.getMessage(second)?.payload.toString(), 'two');
        assert.equal(store.countLog(first, second), 2);
        assert.deepEqual(store.logBounds(), { firstId: first, lastId: second });
      });
    } finally {
      store.close();
    }
  });

  test('300 rows in one commit (more than one INSERT takes) are all written, in id order, with their fields', () => {
    const { store } = openStore();
    try {
      const ids = store.transaction((tx) =>
        Array.from({ length: 300 }, (_, i) => store.appendMessage(tx, 2000 + i, draft(`t/${i}`, `p${i}`))),
      );
      assert.deepEqual(
        ids,
        Array.from({ length: 300 }, (_, i) => ids[0]! + i),
      );
      const rows = store.readLog(ids[0]!, ids[299]!, 1000);
      assert.equal(rows.length, 300);
      rows.forEach((row, i) => {
        assert.equal(row.id, ids[i]);
        assert.equal(row.timestamp, 2000 + i);
        assert.equal(row.topic, `t/${i}`);
        assert.equal(row.payload.toString(), `p${i}`);
      });
    } finally {
      store.close();
    }
  });

  test('a failed transaction writes none of its rows and gives its ids back, as AUTOINCREMENT does', () => {
    const { store } = openStore();
    try {
      const kept = store.transaction((tx) => store.appendMessage(tx, 1, draft('kept')));
      assert.throws(() =>
        store.transaction((tx) => {
          store.appendMessage(tx, 2, draft('lost'));
          store.appendMessage(tx, 3, draft('lost'));
          throw new Error('the commit fails');
        }),
      );
      assert.equal(store.countLog(0, Number.MAX_SAFE_INTEGER), 1);
      const next = store.transaction((tx) => store.appendMessage(tx, 4, draft('next')));
      assert.equal(next, kept + 1);
    } finally {
      store.close();
    }
  });

  test('ids continue after a reopen even when the newest rows were deleted: an id is never reused', () => {
    const { file, store } = openStore();
    const ids = store.transaction((tx) => [1, 2, 3].map((n) => store.appendMessage(tx, n, draft(`t/${n}`))));
    store.transaction((tx) => {
      store.deleteMessageIfUnreferenced(tx, ids[1]!);
      store.deleteMessageIfUnreferenced(tx, ids[2]!);
    });
    store.close();
    const reopened = SqliteStore.open({ file });
    try {
      assert.equal(reopened.lastAssignedMessageId(), ids[2]);
      const next = reopened.transaction((tx) => reopened.appendMessage(tx, 5, draft('after')));
      assert.equal(next, ids[2]! + 1);
    } finally {
      reopened.close();
    }
  });
});
