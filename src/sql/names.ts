/**
 * The names a backend's SQL text is built from, every identifier validated
 * and quoted once, when the store opens. The shared builders take only
 * this, so they never see an unvalidated name.
 */
export interface SqlNames {
  /** The caller's documents table (schema-qualified on Postgres when asked). */
  readonly docs: string;
  /** Its key column. */
  readonly id: string;
  /** The column holding the text to embed. */
  readonly content: string;
  /**
   * The revision of the row aliased `alias` as the store stamps and compares
   * it (SQLite: the column itself; Postgres: a session-independent text form).
   * Absent when the store does not track revisions.
   */
  readonly revision?: (alias: string) => string;
  /** The invalidation column (the caller sets it to NULL to invalidate a document). */
  readonly embedGen?: string;
  /** The store's own tables. */
  readonly gens: string;
  readonly chunks: string;
  readonly stamps: string;
  readonly leases: string;
}
