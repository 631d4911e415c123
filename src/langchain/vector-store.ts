import type { Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from '@langchain/core/vectorstores';
import {
  type Chunk,
  type DocHit,
  type EncodeFn,
  type FillOptions,
  type FillResult,
  fill,
  type LifecycleStore,
  type MergeStrategy,
  rollupByDocument,
  type Store,
  search,
  split,
} from '../core/index.js';
import { type ColumnValue, type DocKey, DocumentTable, type SqlFilter } from './document-table.js';

/**
 * What a search keeps: column equality pairs (`{ lang: 'en' }`; `null`
 * matches NULL; names checked against the table, values bound), or the
 * store's own SQL filter `{ where, params }` over the table aliased `d`
 * (`?` placeholders on SQLite, `$1…` on Postgres), for code you write.
 */
export type VecfillFilter = Record<string, ColumnValue> | SqlFilter;

/** A vecfill store with the lifecycle (SqliteStore, PgStore). */
export type VecfillStore = LifecycleStore<DocKey, string, SqlFilter>;

export interface VecfillVectorStoreArgs {
  /** The vecfill store over your table (`SqliteStore` or `PgStore`). */
  store: VecfillStore;
  /** The generation the LangChain `Embeddings` produce vectors for (created with `ensureGeneration`). */
  generation: string;
  /**
   * Encoders of the other live generations, so a search during a migration
   * queries both and merges them (a generation without an encoder is not
   * searched by text). Default: none.
   */
  encoders?: Record<string, EncodeFn>;
  /** Columns of your table copied to and from `Document.metadata`. Default none. */
  metadataColumns?: string[];
  /** Fuse full-text hits with vector hits in text searches. Default false. */
  hybrid?: boolean;
  /** How the lists of several live generations are merged. Default `normalized`. */
  merge?: MergeStrategy;
  /** Options of the fill that `addDocuments` runs (batching, split, concurrency). */
  fill?: Omit<FillOptions<DocKey>, 'signal'>;
  /** The documents table; derived from the store (its connection and schema) when absent. */
  table?: DocumentTable;
}

/**
 * A LangChain.js `VectorStore` over a table vecfill keeps embedded. The table
 * stays the source of truth: `addDocuments` inserts rows into it and fills
 * them, `delete` deletes rows, and search returns only rows that still exist
 * and whose embedding is fresh, filtered before the limit, from every live
 * generation during a migration.
 *
 * `Document.pageContent` is the matching chunk of the row's content;
 * `metadata` holds the chosen columns plus `id`, `chunkIndex`, `start`,
 * `end` (offsets into the content) and `generation`.
 *
 * @example
 * ```ts
 * const vs = new VecfillVectorStore(embeddings, { store, generation: 'minilm', metadataColumns: ['lang'] });
 * await vs.addDocuments([new Document({ pageContent: 'Tides follow the moon.', metadata: { lang: 'en' } })]);
 * const docs = await vs.asRetriever({ k: 4, filter: { lang: 'en' } }).invoke('why are there tides?');
 * ```
 */
export class VecfillVectorStore extends VectorStore {
  declare FilterType: VecfillFilter;

  readonly store: VecfillStore;
  readonly generation: string;
  readonly #encoders: Record<string, EncodeFn>;
  readonly #table: DocumentTable;
  readonly #hybrid: boolean;
  readonly #merge: MergeStrategy;
  readonly #fill: Omit<FillOptions<DocKey>, 'signal'>;

  _vectorstoreType(): string {
    return 'vecfill';
  }

  constructor(embeddings: EmbeddingsInterface, args: VecfillVectorStoreArgs) {
    super(embeddings, args as unknown as Record<string, unknown>);
    if (!args?.store || !args.generation)
      throw new TypeError('VecfillVectorStore needs { store, generation }');
    this.store = args.store;
    this.generation = args.generation;
    const own: EncodeFn = async (texts, o = {}) => {
      o.signal?.throwIfAborted();
      return o.kind === 'query'
        ? Promise.all(texts.map((t) => embeddings.embedQuery(t)))
        : embeddings.embedDocuments(texts);
    };
    this.#encoders = { ...(args.encoders ?? {}), [args.generation]: own };
    const table = args.table ?? DocumentTable.fromStore(args.store, args.metadataColumns ?? []);
    if (!table)
      throw new TypeError(
        'VecfillVectorStore: cannot reach the documents table through this store; pass `table`',
      );
    this.#table = table;
    this.#hybrid = args.hybrid ?? false;
    this.#merge = args.merge ?? 'normalized';
    this.#fill = args.fill ?? {};
  }

  /** The live generations that can be searched by text (those with an encoder), most preferred first. */
  async #searchable(): Promise<string[]> {
    const live = await this.store.liveGenerations();
    return live.filter((g) => g in this.#encoders);
  }

  async #filter(filter: VecfillFilter | undefined): Promise<SqlFilter | undefined> {
    if (!filter) return undefined;
    if (isSqlFilter(filter)) return { where: filter.where, params: [...(filter.params ?? [])] };
    return this.#table.equalityFilter(filter as Record<string, ColumnValue>);
  }

  async #documents(hits: DocHit<DocKey, string>[]): Promise<[Document, number][]> {
    const rows = await this.#table.read(hits.map((h) => h.doc));
    const out: [Document, number][] = [];
    for (const h of hits) {
      const row = rows.get(String(h.doc));
      if (!row) continue; // deleted since the search: never returned
      const pageContent =
        h.start !== undefined && h.end !== undefined
          ? row.content.slice(h.start, h.end)
          : row.content;
      out.push([
        new Document({
          pageContent,
          id: String(h.doc),
          metadata: {
            ...row.metadata,
            id: typeof h.doc === 'bigint' ? h.doc.toString() : h.doc,
            chunkIndex: h.chunkIndex,
            ...(h.start !== undefined ? { start: h.start } : {}),
            ...(h.end !== undefined ? { end: h.end } : {}),
            generation: h.generation ?? this.generation,
          },
        }),
        h.score,
      ]);
    }
    return out;
  }

  /**
   * Searches with a vector of {@link generation}'s space (the one the
   * `Embeddings` produce): only that generation can be queried with it.
   */
  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: VecfillFilter,
  ): Promise<[Document, number][]> {
    const where = await this.#filter(filter);
    const vector = Float32Array.from(query);
    let want = k * 3;
    for (;;) {
      const hits = await this.store.queryGeneration(
        this.generation,
        vector,
        want,
        where ? { filter: where } : {},
      );
      const docs = rollupByDocument<DocKey, string>(hits);
      if (docs.length >= k || hits.length < want) return this.#documents(docs.slice(0, k));
      want *= 2;
    }
  }

  /**
   * Searches by text over every live generation with an encoder (both while
   * a migration builds), merged; hybrid when configured.
   */
  override async similaritySearchWithScore(
    query: string,
    k = 4,
    filter?: VecfillFilter,
    _callbacks?: Callbacks,
  ): Promise<[Document, number][]> {
    const gens = await this.#searchable();
    if (gens.length === 0)
      throw new Error(
        `generation ${this.generation} is not live (retired, or not created with ensureGeneration)`,
      );
    const where = await this.#filter(filter);
    const view: Store<DocKey, string, SqlFilter> = {
      liveGenerations: () => gens,
      queryGeneration: (g, q, l, o) => this.store.queryGeneration(g, q, l, o),
      pendingForGeneration: () => [],
      saveVectors: () => {
        throw new Error('read-only view');
      },
    };
    const hits = await search(view, query, {
      encoderFor: (g) => this.#encoders[g]!,
      limit: k,
      merge: gens.length > 1 ? this.#merge : 'raw',
      ...(this.#hybrid ? { hybrid: true } : {}),
      ...(where ? { filter: where } : {}),
    });
    return this.#documents(hits);
  }

  override async similaritySearch(
    query: string,
    k = 4,
    filter?: VecfillFilter,
    callbacks?: Callbacks,
  ): Promise<Document[]> {
    return (await this.similaritySearchWithScore(query, k, filter, callbacks)).map(([d]) => d);
  }

  /**
   * Maximal marginal relevance: fetches `fetchK` matches, re-embeds their
   * passages (the stores return scores, not vectors) and picks `k` that are
   * relevant yet different from each other.
   */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<VecfillFilter>,
    _callbacks?: Callbacks,
  ): Promise<Document[]> {
    const k = options.k ?? 4;
    const candidates = await this.similaritySearchWithScore(
      query,
      options.fetchK ?? 20,
      options.filter,
    );
    if (candidates.length === 0) return [];
    const [queryVector, vectors] = await Promise.all([
      this.embeddings.embedQuery(query),
      this.embeddings.embedDocuments(candidates.map(([d]) => d.pageContent)),
    ]);
    const picked = maximalMarginalRelevance(queryVector, vectors, options.lambda ?? 0.5, k);
    return picked.map((i) => candidates[i]![0]);
  }

  /**
   * Inserts one row per document into your table (`pageContent` into the
   * content column, the `metadataColumns` from `metadata`, `options.ids` into
   * the id column when given), then fills every live generation with an
   * encoder. Returns the new rows' ids.
   */
  async addDocuments(
    documents: DocumentInterface[],
    options?: { ids?: string[] },
  ): Promise<string[]> {
    const keys = await this.#insert(documents, options?.ids);
    await this.fill();
    return keys.map(String);
  }

  /**
   * Inserts the documents like {@link addDocuments} and stores the given
   * vectors for {@link generation} (one chunk per document) instead of
   * embedding them again; other live generations are filled by their encoders.
   */
  async addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options?: { ids?: string[] },
  ): Promise<string[]> {
    if (vectors.length !== documents.length)
      throw new RangeError(
        `addVectors: ${vectors.length} vectors for ${documents.length} documents`,
      );
    const given = new Map(documents.map((d, i) => [d.pageContent, vectors[i]!]));
    const keys = await this.#insert(documents, options?.ids);
    const own = this.#encoders[this.generation]!;
    await this.#fillAll({
      [this.generation]: {
        encode: async (texts, o) => {
          const missing = texts.filter((t) => !given.has(t));
          const computed = missing.length ? await own(missing, o) : [];
          let j = 0;
          return texts.map((t) => given.get(t) ?? computed[j++]!);
        },
        split: (content: string) =>
          given.has(content)
            ? [{ index: 0, text: content, start: 0, end: content.length }]
            : undefined,
      },
    });
    return keys.map(String);
  }

  async #insert(documents: DocumentInterface[], ids?: string[]): Promise<DocKey[]> {
    if (ids && ids.length !== documents.length)
      throw new RangeError(`${ids.length} ids for ${documents.length} documents`);
    return this.#table.insert(
      documents.map((d, i) => ({
        content: d.pageContent,
        metadata: (d.metadata ?? {}) as Record<string, unknown>,
        ...(ids ? { id: ids[i]! } : {}),
      })),
    );
  }

  /**
   * Embeds whatever is pending in every live generation with an encoder (what
   * `addDocuments` runs; call it after writing rows yourself).
   */
  fill(): Promise<Record<string, FillResult>> {
    return this.#fillAll({});
  }

  /** Fills every searchable generation; `overrides` replace one generation's encoder and split some documents whole. */
  async #fillAll(
    overrides: Record<
      string,
      { encode: EncodeFn; split: (content: string) => Chunk[] | undefined }
    >,
  ): Promise<Record<string, FillResult>> {
    const results: Record<string, FillResult> = {};
    for (const gen of await this.#searchable()) {
      const o = overrides[gen];
      const opts: FillOptions<DocKey> = { ...this.#fill };
      if (o) {
        const fallback = this.#fill.split;
        opts.split = (content) =>
          o.split(content) ??
          (typeof fallback === 'function' ? fallback(content) : split(content, fallback));
      }
      results[gen] = await fill(this.store, gen, o?.encode ?? this.#encoders[gen]!, opts);
    }
    return results;
  }

  /** Deletes the rows with these ids from your table, and their vectors. */
  override async delete(params?: { ids?: string[] }): Promise<void> {
    if (!params?.ids) throw new TypeError('delete needs { ids }');
    for (const key of await this.#table.delete(params.ids)) await this.store.deleteVectors(key);
  }

  /**
   * Opens a vector store and inserts `docs` into the table.
   * `dbConfig` is {@link VecfillVectorStoreArgs}.
   */
  static override async fromDocuments(
    docs: DocumentInterface[],
    embeddings: EmbeddingsInterface,
    dbConfig: VecfillVectorStoreArgs,
  ): Promise<VecfillVectorStore> {
    const vs = new VecfillVectorStore(embeddings, dbConfig);
    await vs.addDocuments(docs);
    return vs;
  }

  /** A vector store over a table and generation that already exist (no rows added). */
  static async fromExistingIndex(
    embeddings: EmbeddingsInterface,
    dbConfig: VecfillVectorStoreArgs,
  ): Promise<VecfillVectorStore> {
    return new VecfillVectorStore(embeddings, dbConfig);
  }

  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    dbConfig: VecfillVectorStoreArgs,
  ): Promise<VecfillVectorStore> {
    const docs = texts.map(
      (pageContent, i) =>
        new Document({
          pageContent,
          metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) ?? {},
        }),
    );
    return VecfillVectorStore.fromDocuments(docs, embeddings, dbConfig);
  }
}

/** The store's own filter shape: exactly `where` (SQL text) and optional `params`. */
function isSqlFilter(f: VecfillFilter): f is SqlFilter {
  const keys = Object.keys(f);
  return (
    typeof (f as SqlFilter).where === 'string' &&
    keys.every((k) => k === 'where' || k === 'params') &&
    ((f as SqlFilter).params === undefined || Array.isArray((f as SqlFilter).params))
  );
}
