import { runConformance } from '../conformance/suite.js';
import { sqliteHarness } from './helpers.js';

runConformance('SqliteStore', sqliteHarness);
