import { positiveInteger } from '../core/defaults.js';
import { DimensionMismatchError } from '../core/index.js';

/**
 * What every backend checks before a search reads anything: the query has
 * the generation's dimensions (when a vector is given), the limit is a
 * positive integer, and the caller has not aborted yet.
 */
export function checkQuery(opts: {
  gen: string;
  dimensions: number;
  query?: ArrayLike<number>;
  limit: number;
  signal?: AbortSignal | undefined;
}): void {
  const { gen, dimensions, query, limit } = opts;
  if (query !== undefined && query.length !== dimensions) {
    throw new DimensionMismatchError(
      dimensions,
      query.length,
      `query for generation ${JSON.stringify(gen)}`,
    );
  }
  positiveInteger(limit, 'limit');
  opts.signal?.throwIfAborted();
}
