import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TransformersDtype } from '../encoders/index.js';
import type {
  SqliteGenerationOptions as GenerationOptions,
  Quantization,
} from '../sqlite/index.js';
import { CLI_DEFAULTS as D } from './defaults.js';
import { CliError, EXIT } from './errors.js';
import { OVERLAP_MESSAGE } from './flags.js';
import type { ChunkSettings } from './markdown-split.js';
import { cliSecrets } from './redact.js';

/** How to re-create a generation's encoder. The API key itself is never saved: only the variable that holds it. */
export type EncoderSettings = EncoderKindSettings & {
  /** How documents are cut into chunks (`--max-chars`, `--overlap`, `--split`); part of the generation's fingerprint. */
  chunking?: ChunkSettings;
};

type EncoderKindSettings =
  | { kind: 'words'; weighting: 'sif' | 'mean' }
  | {
      kind: 'openai';
      baseURL: string;
      model: string;
      dimensions?: number;
      apiKeyEnv: string;
      /** Prepended to document texts (`--text-prefix`). */
      prefix?: string;
      /** Prepended to search queries (`--query-prefix`); default: `prefix`. */
      queryPrefix?: string;
    }
  | {
      kind: 'transformers';
      /** A Hugging Face model id or a local folder. */
      model: string;
      dtype?: TransformersDtype;
      prefix?: string;
      queryPrefix?: string;
    };

/** The flags every command that creates a generation accepts, as `flags.ts` parsed them. */
export interface EncoderFlags {
  encoder?: string;
  model?: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  dimensions?: number;
  weighting?: 'sif' | 'mean';
  textPrefix?: string;
  /** Same as `textPrefix` (`--prefix`). */
  prefix?: string;
  queryPrefix?: string;
  dtype?: TransformersDtype;
  maxChars?: number;
  overlap?: number;
  split?: 'plain' | 'markdown';
}

/** `--max-chars`, `--overlap` and `--split` as chunk settings (undefined when none is given). */
export function chunkSettingsFrom(flags: EncoderFlags): ChunkSettings | undefined {
  if (flags.maxChars === undefined && flags.overlap === undefined && flags.split === undefined)
    return undefined;
  const out: ChunkSettings = {};
  if (flags.maxChars !== undefined) out.maxChars = flags.maxChars;
  if (flags.overlap !== undefined) {
    // Each value was checked when parsed; how they relate is checked here.
    if (flags.overlap >= (out.maxChars ?? D.maxChars) / 2)
      throw new CliError(OVERLAP_MESSAGE(flags.overlap), EXIT.usage);
    out.overlap = flags.overlap;
  }
  if (flags.split !== undefined) out.split = flags.split;
  return out;
}

/** How a new generation's index is built (`--quantization`, `--oversample`). */
export interface IndexOptionFlags {
  quantization?: Quantization;
  oversample?: number;
}

/** `--quantization` / `--oversample` as store options (undefined when neither is given). */
export function indexOptionsFrom(flags: IndexOptionFlags): GenerationOptions | undefined {
  if (flags.quantization === undefined && flags.oversample === undefined) return undefined;
  return {
    ...(flags.quantization !== undefined ? { quantization: flags.quantization } : {}),
    ...(flags.oversample !== undefined ? { oversample: flags.oversample } : {}),
  };
}

/**
 * The name of the variable that holds the API key. A key pasted where the
 * name belongs (`--api-key-env sk-proj-…`) is refused without repeating it.
 */
export function apiKeyEnvFrom(name: string | undefined): string {
  if (name === undefined) return D.apiKeyEnv;
  if (!isEnvName(name)) {
    cliSecrets.add(name);
    throw new CliError(
      '--api-key-env takes the NAME of an environment variable that holds the key (e.g. --api-key-env OPENAI_API_KEY), not the key itself; the value given is not a variable name (it looks like a key, so it is not repeated here). Put the key in a variable: export OPENAI_API_KEY=…',
      EXIT.usage,
    );
  }
  return name;
}

/** A plausible environment variable name, and not a key that happens to be made of word characters. */
export function isEnvName(name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return false;
  // Keys such as sk_live_… or 40 mixed-case characters are not names people give variables.
  if (/^(sk|pk|rk|key)_/i.test(name) && /[a-z]/.test(name) && /\d/.test(name)) return false;
  return !(name.length >= 24 && /[a-z]/.test(name) && /[A-Z]/.test(name) && /\d/.test(name));
}

/** Turns command-line flags into encoder settings, refusing nonsense with a usage error. */
export function encoderSettingsFrom(flags: EncoderFlags): EncoderSettings {
  const settings: EncoderSettings = encoderKindFrom(flags);
  const chunking = chunkSettingsFrom(flags);
  if (chunking) settings.chunking = chunking;
  return settings;
}

function encoderKindFrom(flags: EncoderFlags): EncoderSettings {
  const kind = flags.encoder ?? (flags.baseUrl || flags.model ? 'openai' : 'words');
  if (kind === 'words') {
    return { kind: 'words', weighting: flags.weighting ?? D.weighting };
  }
  if (kind === 'transformers') {
    const settings: EncoderSettings = {
      kind: 'transformers',
      // A folder is saved as an absolute path, so later commands run from anywhere.
      model: flags.model
        ? /^[.~]|^\//.test(flags.model) || existsSync(flags.model)
          ? resolve(flags.model)
          : flags.model
        : D.transformersModel,
    };
    if (flags.dtype !== undefined) settings.dtype = flags.dtype;
    const textPrefix = flags.textPrefix ?? flags.prefix;
    if (textPrefix) settings.prefix = textPrefix;
    if (flags.queryPrefix !== undefined) settings.queryPrefix = flags.queryPrefix;
    return settings;
  }
  if (kind === 'openai') {
    if (!flags.model)
      throw new CliError(
        '--encoder openai needs --model (e.g. --model text-embedding-3-small)',
        EXIT.usage,
      );
    const baseURL = flags.baseUrl ?? D.openaiBaseUrl;
    const settings: EncoderSettings = {
      kind: 'openai',
      baseURL,
      model: flags.model,
      apiKeyEnv: apiKeyEnvFrom(flags.apiKeyEnv),
    };
    if (flags.dimensions !== undefined) settings.dimensions = flags.dimensions;
    const textPrefix = flags.textPrefix ?? flags.prefix;
    if (textPrefix) settings.prefix = textPrefix;
    if (flags.queryPrefix !== undefined) settings.queryPrefix = flags.queryPrefix;
    return settings;
  }
  throw new CliError(
    `unknown --encoder ${kind}; use words (offline, the default), openai or transformers`,
    EXIT.usage,
  );
}
