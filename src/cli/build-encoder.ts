import { join } from 'node:path';
import { type Encoder, openAICompatible, transformers, wordVectors } from '../encoders/index.js';
import { formatWait } from '../encoders/openai-compatible.js';
import { defaultCacheDir } from '../encoders/word-vectors-cache.js';
import type { Context } from './context.js';
import type { EncoderSettings } from './encoder-settings.js';
import { CliError, EXIT } from './errors.js';
import { cliSecrets, connectionSecrets, redactConnectionString } from './redact.js';

/**
 * Where an encoder tells the user what it is doing: the command's stderr
 * (`ctx.err`, one line per call). With `--json` (`ctx.json`) the one-time
 * preparation notes are left out; a long retry wait is always said, so the
 * command never looks hung.
 */
export type EncoderLog = Pick<Context, 'json' | 'err'>;

/** Waits before a retry from this long on are printed on stderr. */
const LONG_WAIT_MS = 2000;

/** The encoder saved settings describe, its generation carrying the chunking (part of the fingerprint). */
export async function buildEncoder(settings: EncoderSettings, log: EncoderLog): Promise<Encoder> {
  const encoder = await buildKindEncoder(settings, log);
  const c = settings.chunking;
  if (!c) return encoder;
  // How documents are chunked changes what the vectors are of: part of the fingerprint.
  const params: Record<string, string | number | boolean> = { ...encoder.generation.params };
  if (c.maxChars !== undefined) params.chunkMaxChars = c.maxChars;
  if (c.overlap !== undefined) params.chunkOverlap = c.overlap;
  if (c.split === 'markdown') params.chunkHeadingPath = true;
  return Object.assign(
    Object.create(Object.getPrototypeOf(encoder) as object) as Encoder,
    encoder,
    {
      generation: { ...encoder.generation, params },
    },
  );
}

async function buildKindEncoder(settings: EncoderSettings, log: EncoderLog): Promise<Encoder> {
  if (settings.kind === 'words') {
    let announced = false;
    return wordVectors({
      weighting: settings.weighting,
      onProgress: (p) => {
        if (log.json) return;
        if (!announced) {
          announced = true;
          log.err(
            'Preparing the offline word vectors (first run only, converts a 300 MB file once)...',
          );
        }
        if (p.phase === 'parse') log.err(`  converting: ${Math.round((p.done / p.total) * 100)}%`);
        if (p.phase === 'done') log.err('  word vectors ready');
      },
    });
  }
  if (settings.kind === 'transformers') return buildTransformers(settings, log);
  const apiKey = process.env[settings.apiKeyEnv];
  cliSecrets.add(apiKey);
  for (const s of connectionSecrets(settings.baseURL)) cliSecrets.add(s);
  const opts: Parameters<typeof openAICompatible>[0] = {
    baseURL: settings.baseURL,
    model: settings.model,
    // A long wait (a Retry-After, a long backoff) says what it waits for and
    // until when, so the command never looks hung.
    onRetry: (n) => {
      if (n.waitMs < LONG_WAIT_MS) return;
      log.err(
        `vecfill: ${settings.model}: ${n.reason}; waiting ${formatWait(n.waitMs)}${n.retryAfter ? ' as the provider asked (Retry-After)' : ''}, until ${n.until.toISOString()}, before retry ${n.attempt} of ${n.maxRetries} (Ctrl-C stops; finished documents are kept)`,
      );
    },
  };
  if (apiKey) opts.apiKey = apiKey;
  if (settings.dimensions !== undefined) opts.dimensions = settings.dimensions;
  if (settings.prefix) opts.prefix = settings.prefix;
  if (settings.queryPrefix !== undefined) opts.queryPrefix = settings.queryPrefix;
  try {
    return await openAICompatible(opts);
  } catch (e) {
    throw new CliError(
      `cannot reach the embedding endpoint ${redactConnectionString(settings.baseURL)} for model ${settings.model}: ${(e as Error).message}${apiKey ? '' : ` (no API key in $${settings.apiKeyEnv})`}`,
      EXIT.failure,
    );
  }
}

async function buildTransformers(
  settings: EncoderSettings & { kind: 'transformers' },
  log: EncoderLog,
): Promise<Encoder> {
  const announced = new Set<string>();
  try {
    return await transformers({
      model: settings.model,
      ...(settings.dtype ? { dtype: settings.dtype } : {}),
      ...(settings.prefix ? { documentPrefix: settings.prefix } : {}),
      ...((settings.queryPrefix ?? settings.prefix)
        ? { queryPrefix: settings.queryPrefix ?? settings.prefix }
        : {}),
      cacheDir: process.env.VECFILL_MODELS_DIR ?? join(defaultCacheDir(), 'models'),
      onProgress: (p) => {
        if (log.json || p.status !== 'download' || !p.file || announced.has(p.file)) return;
        announced.add(p.file);
        log.err(`loading ${settings.model}: ${p.file}`);
      },
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(
      (e as Error).message,
      code === 'MISSING_PEER'
        ? EXIT.usage
        : code === 'MODEL_UNAVAILABLE'
          ? EXIT.notFound
          : EXIT.failure,
    );
  }
}
