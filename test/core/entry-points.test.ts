import { describe, expect, it } from 'vitest';

/**
 * Each package entry point exports the public API and nothing else: a
 * helper the backends share with the core (`describe`, `fuseHybrid`,
 * `inTransaction`, `loadVec`…) is imported from its own file, so a caller
 * never depends on it and `import { describe } from 'vecfill'` cannot shadow
 * a test framework's. Adding a public name means adding it here on purpose.
 */
const PUBLIC: Record<string, string[]> = {
  core: [
    'DEFAULTS',
    'DimensionMismatchError',
    'DuplicateKeyError',
    'EmptyInputError',
    'EncoderConfigError',
    'GenerationConflictError',
    'InvalidIdentifierError',
    'InvalidVectorError',
    'LifecycleError',
    'MissingDocumentError',
    'PermanentEncodeError',
    'ProviderFailureError',
    'QueryTimeoutError',
    'SearchUnavailableError',
    'StaleError',
    'TooManySkippedError',
    'TransientEncodeError',
    'UncoveredError',
    'UnknownGenerationError',
    'VecfillError',
    'canonicalJson',
    'encodeBatched',
    'fill',
    'fingerprint',
    'follow',
    'isBlank',
    'isConfigError',
    'isProviderFailure',
    'merge',
    'rollupByDocument',
    'search',
    'split',
    'validateGeneration',
  ],
  encoders: [
    'EncoderConfigError',
    'TRANSFORMERS_DTYPES',
    'TransientEncodeError',
    'WORD_VECTORS_MODEL',
    'fromAiSdk',
    'fromLangChain',
    'isPermanentEncodeError',
    'openAICompatible',
    'skipPermanentErrors',
    'transformers',
    'wordVectors',
  ],
  langchain: ['DocumentTable', 'VecfillVectorStore'],
  sqlite: ['QUANTIZATIONS', 'SqliteStore', 'openDatabase'],
  postgres: ['PgStore'],
};

const INTERNAL = [
  'describe',
  'fuseHybrid',
  'fuseRanks',
  'checkSkippedShare',
  'checkVector',
  'validateIdentifier',
  'inTransaction',
  'coveredPg',
  'coveredSql',
  'vectorLiteral',
  'loadVec',
  'tokenize',
  'parseRetryAfter',
];

const LOAD: Record<string, () => Promise<Record<string, unknown>>> = {
  core: () => import('../../src/core/index.js'),
  encoders: () => import('../../src/encoders/index.js'),
  langchain: () => import('../../src/langchain/index.js'),
  sqlite: () => import('../../src/sqlite/index.js'),
  postgres: () => import('../../src/postgres/index.js'),
};

describe('package entry points', () => {
  for (const [entry, names] of Object.entries(PUBLIC)) {
    it(`vecfill${entry === 'core' ? '' : `/${entry}`} exports exactly its public API`, async () => {
      const mod = await LOAD[entry]!();
      const exported = Object.keys(mod).sort();
      expect(exported).toEqual([...names].sort());
      for (const name of INTERNAL) expect(exported).not.toContain(name);
    });
  }
});
