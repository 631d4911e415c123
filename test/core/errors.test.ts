import { expect, describe as group, it } from 'vitest';
// Not public: the backends and the CLI render keys in their messages with it.
import { describe } from '../../src/core/errors.js';
import {
  DimensionMismatchError,
  DuplicateKeyError,
  GenerationConflictError,
  InvalidIdentifierError,
  LifecycleError,
  MissingDocumentError,
  QueryTimeoutError,
  SearchUnavailableError,
  StaleError,
  TooManySkippedError,
  UncoveredError,
  UnknownGenerationError,
  VecfillError,
} from '../../src/core/index.js';

// What a user reads when vecfill refuses: the code to branch on, the fields,
// and a message that names the document and generation and says what next.
group('error messages', () => {
  it('describe renders each kind of key as it would be written', () => {
    expect(describe('doc-1')).toBe('"doc-1"');
    expect(describe(12n)).toBe('12n');
    expect(describe(7)).toBe('7');
    expect(describe(Number.NaN)).toBe('NaN');
    expect(describe(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(describe(true)).toBe('true');
    expect(describe(null)).toBe('null');
    expect(describe(undefined)).toBe('undefined');
    expect(describe({ model: 'a', v: 2 })).toBe('{"model":"a","v":2}');
    expect(describe(() => 1)).toBe('() => 1');
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(describe(cyclic)).toBe('[object Object]');
  });

  it('documents and generations', () => {
    const stale = new StaleError('d1', 'g1', 'revision 3 is now 4');
    expect(stale).toMatchObject({ code: 'STALE', name: 'StaleError', doc: 'd1', generation: 'g1' });
    expect(stale).toBeInstanceOf(VecfillError);
    expect(stale.message).toBe(
      'document "d1" changed after it was read for generation "g1"; nothing was saved and it stays pending (revision 3 is now 4)',
    );
    expect(new StaleError(1, 'g').message).toBe(
      'document 1 changed after it was read for generation "g"; nothing was saved and it stays pending',
    );
    expect(new MissingDocumentError(5)).toMatchObject({
      code: 'MISSING_DOCUMENT',
      doc: 5,
      message: 'document 5 does not exist; nothing was saved',
    });
    expect(new MissingDocumentError(5, 'g').message).toBe(
      'document 5 does not exist (saving generation "g"); nothing was saved',
    );
    expect(new UncoveredError('g', 3)).toMatchObject({
      code: 'UNCOVERED',
      generation: 'g',
      backlog: 3,
      message:
        'generation "g" cannot be activated: 3 document(s) are not embedded yet; run fill for it first',
    });
    expect(new UncoveredError('g', 1, 'wait').message).toMatch(/not embedded yet; wait$/);
    expect(new GenerationConflictError('g', 'dimensions 3')).toMatchObject({
      code: 'GENERATION_CONFLICT',
      generation: 'g',
      message:
        'generation "g" already exists with dimensions 3; choose a new generation key for a new model or setting',
    });
    expect(new UnknownGenerationError('g')).toMatchObject({
      code: 'UNKNOWN_GENERATION',
      generation: 'g',
      message: 'generation "g" is not known to this store; create it with ensureGeneration first',
    });
    expect(new LifecycleError('no')).toMatchObject({ code: 'LIFECYCLE', message: 'no' });
    expect(new DimensionMismatchError(3, 2, 'saveVectors')).toMatchObject({
      code: 'DIMENSION_MISMATCH',
      expected: 3,
      actual: 2,
      message: 'saveVectors: vector has 2 dimensions, the generation expects 3',
    });
    expect(new InvalidIdentifierError('a b', 'table', 'letters only')).toMatchObject({
      code: 'INVALID_IDENTIFIER',
      identifier: 'a b',
      message: 'table "a b" is not a valid SQL identifier (letters only)',
    });
    expect(new DuplicateKeyError('docs', 'id', 4)).toMatchObject({
      code: 'DUPLICATE_KEY',
      table: 'docs',
      column: 'id',
      key: 4,
      message:
        'column id of table docs is not unique (several rows have 4); vecfill needs a unique id column: make it the PRIMARY KEY or add a UNIQUE index (CREATE UNIQUE INDEX docs_id_key ON docs(id)), or point idColumn at a unique column; nothing was saved',
    });
  });

  it('TooManySkippedError gives the share, the top three reasons and what to run', () => {
    const reasons = [
      { reason: 'too long', documents: 5 },
      { reason: 'no known word', documents: 3 },
      { reason: 'bad', documents: 2 },
      { reason: 'rare', documents: 1 },
    ];
    const e = new TooManySkippedError('g', 89, 11, reasons);
    expect(e).toMatchObject({
      code: 'TOO_MANY_SKIPPED',
      generation: 'g',
      embedded: 89,
      skipped: 11,
      reasons,
    });
    expect(e.message).toBe(
      'generation "g" cannot be activated: 11 of 100 documents (11%) were skipped after encoder errors (5 × too long; 3 × no known word; 2 × bad). Fix the cause and fill again with retrySkipped (vecfill fill --retry-skipped), or activate with force (vecfill activate --force) to accept the loss',
    );
    expect(new TooManySkippedError('g', 199, 1, []).message).toContain('1 of 200 documents (0.5%)');
    expect(new TooManySkippedError('g', 0, 2, []).message).toContain(
      'cannot be activated: it embedded nothing and 2 of 2 documents (100%)',
    );
    expect(new TooManySkippedError('g', 0, 0, []).message).toContain('0 of 0 documents (0.0%)');
    expect(new TooManySkippedError('g', 90, 10, []).message).toContain('(10%)');
  });

  it('search failures list each generation and keep the first cause', () => {
    const first = new Error('encoder down');
    const e = new SearchUnavailableError(
      [
        { generation: 'a', error: first },
        { generation: 'b', error: 'timeout' },
      ],
      '; try later',
    );
    expect(e).toMatchObject({ code: 'SEARCH_UNAVAILABLE', cause: first });
    expect(e.causes).toHaveLength(2);
    expect(e.message).toBe(
      'no generation could answer the search: generation "a": encoder down; generation "b": timeout; try later',
    );
    expect(new SearchUnavailableError([])).toMatchObject({
      cause: undefined,
      message: 'no generation could answer the search: ',
    });
    expect(new QueryTimeoutError('g', 250)).toMatchObject({
      code: 'QUERY_TIMEOUT',
      generation: 'g',
      timeoutMs: 250,
      message: 'the query encoder of generation "g" did not answer within 250 ms',
    });
  });
});
