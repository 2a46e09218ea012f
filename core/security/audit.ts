/**
 * The audit log of management actions (DESIGN.md: Security): who, what, when, from where and
 * how it ended. Written by the API service for every operation that needs `manage`, and for
 * logins and user changes. Kept in SQLite; the newest `maxRecords` are kept (pruned every
 * 1 000 writes).
 */
import type { AuditQuery, AuditRow, SecurityStore } from '../store/security-store.ts';

/** What is recorded for one action. */
export type AuditRecord = Omit<AuditRow, 'id' | 'at'> & { readonly at?: number };

/** Appends and reads audit records. */
export class AuditLog {
  private writes = 0;

  constructor(
    private readonly store: SecurityStore,
    private readonly maxRecords: number,
  ) {}

  record(record: AuditRecord): void {
    this.store.appendAudit({ ...record, at: record.at ?? Date.now() });
    if (++this.writes % 1000 === 0) this.store.pruneAudit(this.maxRecords);
  }

  query(query: AuditQuery): AuditRow[] {
    return this.store.queryAudit(query);
  }

  /** Every matching record in id order, a page at a time (for export). */
  *all(query: Omit<AuditQuery, 'afterId' | 'limit'>): Generator<AuditRow> {
    let afterId = 0;
    for (;;) {
      const page = this.store.queryAudit({ ...query, afterId, limit: 1000 });
      yield* page;
      if (page.length < 1000) return;
      afterId = page[page.length - 1]!.id;
    }
  }
}
