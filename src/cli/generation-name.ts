import { basename } from 'node:path';
import type { Quantization } from '../sqlite/index.js';
import type { EncoderSettings } from './encoder-settings.js';

/**
 * The key a new generation gets when the user names none: the model (or
 * `words-<weighting>`), the first six characters of the fingerprint, and the
 * quantization, e.g. `text-embedding-3-small-1a2b3c-binary`. Two different
 * encoders, chunkings or index kinds never share a key.
 */
export function defaultGenerationKey(
  settings: EncoderSettings,
  fp: string,
  quantization?: Quantization,
): string {
  const name =
    settings.kind === 'words'
      ? `words-${settings.weighting}`
      : settings.kind === 'transformers' && settings.model.startsWith('/')
        ? basename(settings.model)
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-')
        : settings.model.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `${name.replace(/^-|-$/g, '')}-${fp.slice(0, 6)}${quantization ? `-${quantization}` : ''}`;
}
