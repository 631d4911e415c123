import { runConformance } from '../conformance/suite.js';
import { sqliteHarness } from './helpers.js';

runConformance('SqliteStore', () => sqliteHarness());
// The same contract with quantized indexes: candidates come from the binary
// codes (or the int8 vec0 column) and are rescored over the float vectors.
runConformance('SqliteStore, binary quantization', () => sqliteHarness({ quantization: 'binary' }));
runConformance('SqliteStore, int8 quantization', () => sqliteHarness({ quantization: 'int8' }));
