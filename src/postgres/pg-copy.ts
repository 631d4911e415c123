import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { PgQueryable } from './pg-client.js';

/**
 * Binary `COPY` of new vector rows: the fast way to load vectors. pgvector
 * parses a vector's text form (`'[0.0123,…]'`) slowly, and formatting 384
 * floats as text costs as much again; the binary form is the floats as they
 * are. Measured on this project's bench server, 100k × 384 vectors: 125 s
 * by multi-row `INSERT` of text literals, 3.9 s by binary `COPY`
 * (bench/README.md).
 *
 * `COPY … FROM STDIN` needs node-postgres (a `Pool`'s or a `Client`'s
 * connection) and a real server; any other client (PGlite), or PGlite
 * behind its socket server (which does not answer `COPY FROM STDIN`), gets
 * the multi-row `INSERT`.
 */

/** A node-postgres connection: it runs a `Submittable` such as a COPY stream. */
interface NodePgConnection {
  connection: unknown;
  query<T extends NodeJS.WritableStream>(submittable: T): T;
}

/** Whether `conn` is a node-postgres client, so it can `COPY … FROM STDIN`. */
export function canCopy(conn: PgQueryable): boolean {
  const c = conn as Partial<NodePgConnection>;
  return typeof c.connection === 'object' && c.connection !== null && 'activeQuery' in conn;
}

/**
 * Whether the server behind `client` takes `COPY … FROM STDIN` (asked once
 * when the store opens): every PostgreSQL server does; PGlite, reached over
 * its socket server, does not answer it.
 */
export async function serverTakesCopyIn(client: PgQueryable): Promise<boolean> {
  const { rows } = await client.query('SELECT version() AS v');
  return !/PGlite/i.test(String(rows[0]?.v ?? ''));
}

/** PostgreSQL's binary COPY signature, flags and header extension length. */
const COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);

/**
 * `(id bigint, embedding vector)` rows in PostgreSQL's binary COPY format;
 * a vector is pgvector's `vector_send` form (int16 dimensions, int16 0,
 * float4 each, all big-endian).
 */
export function vectorRowsBinary(ids: readonly string[], vectors: readonly Float32Array[]): Buffer {
  let size = COPY_HEADER.length + 2;
  for (const v of vectors) size += 2 + 4 + 8 + 4 + 4 + v.length * 4;
  const out = Buffer.allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = COPY_HEADER.copy(out, 0);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    view.setInt16(o, 2);
    view.setInt32(o + 2, 8);
    view.setBigInt64(o + 6, BigInt(ids[i]!));
    view.setInt32(o + 14, 4 + v.length * 4);
    view.setInt16(o + 18, v.length);
    view.setInt16(o + 20, 0);
    o += 22;
    for (let k = 0; k < v.length; k++, o += 4) view.setFloat32(o, v[k]!);
  }
  view.setInt16(o, -1);
  return out;
}

/** Inserts `(id, embedding)` rows into `table` by binary COPY on `conn` (inside the caller's transaction). */
export async function copyVectors(
  conn: PgQueryable,
  table: string,
  ids: readonly string[],
  vectors: readonly Float32Array[],
): Promise<void> {
  const sink = (conn as unknown as NodePgConnection).query(
    copyFrom(`COPY ${table} (id, embedding) FROM STDIN (FORMAT binary)`),
  );
  await pipeline(Readable.from([vectorRowsBinary(ids, vectors)]), sink);
}
