import { runConformance } from '../conformance/suite.js';
import { sqliteHarness } from './helpers.js';

// The contract once per index kind. The default: a float generation scanned
// in memory as int8 codes, candidates rescored from the stored floats.
runConformance('SqliteStore', () => sqliteHarness());
runConformance('SqliteStore, float32 scanned in memory', () =>
  sqliteHarness(undefined, { float: 'float32' }),
);
runConformance('SqliteStore, float scanned by sqlite-vec', () =>
  sqliteHarness(undefined, { float: 'sqlite-vec' }),
);
// Quantized indexes: candidates come from the binary codes or the int8 codes
// (scanned in memory) and are rescored over the float vectors.
runConformance('SqliteStore, binary quantization', () => sqliteHarness({ quantization: 'binary' }));
runConformance('SqliteStore, int8 quantization', () => sqliteHarness({ quantization: 'int8' }));
// A memory cap of 0: every generation falls back to SQLite (sqlite-vec's
// KNN, or an exact scan for binary codes).
runConformance('SqliteStore, binary quantization over the memory cap', () =>
  sqliteHarness({ quantization: 'binary' }, { maxResidentBytes: 0 }),
);
runConformance('SqliteStore, int8 quantization over the memory cap', () =>
  sqliteHarness({ quantization: 'int8' }, { maxResidentBytes: 0 }),
);
