/**
 * `vecfill/langchain`: a LangChain.js `VectorStore` over a table vecfill
 * keeps embedded (SQLite or PostgreSQL). `@langchain/core` is an optional
 * peer dependency of vecfill, needed only by this entry point.
 */
export {
  type ColumnValue,
  type DocKey,
  type DocumentRow,
  DocumentTable,
  type SqlFilter,
} from './document-table.js';
export {
  type VecfillFilter,
  type VecfillStore,
  VecfillVectorStore,
  type VecfillVectorStoreArgs,
} from './vector-store.js';
