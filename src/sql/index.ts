/**
 * The SQL both backends share: decisions and SQL text, never execution
 * (SQLite runs synchronously, Postgres asynchronously). Pure functions over
 * validated names; no driver is imported here. Internal: not a package
 * entry point.
 */
export * from './coverage.js';
export * from './dialect.js';
export * from './filters.js';
export * from './freshness.js';
export * from './generations.js';
export type * from './names.js';
export * from './pending.js';
export * from './query.js';
export * from './save.js';
export * from './schema.js';
