/**
 * The one place secrets are taken out of what the command line prints.
 *
 * `connectionSecrets` parses a database connection string in every form the
 * drivers accept — a `postgres://` / `postgresql://` URL whose password may
 * hold a raw `@` or `/`, percent-encoded or not, a `?password=` (or
 * `sslpassword=`) query parameter, and libpq's `key=value` conninfo with
 * quoted values — and returns each secret in every spelling it may be
 * printed in. `redactConnectionString` gives the form to show a user. The
 * `Redactor` holds the secrets of one run (the database password, the API
 * key) and the CLI passes everything it writes, on stdout and stderr,
 * through it: a secret that reaches any message, on any path, is masked.
 */

/** What a secret is replaced with. */
export const MASK = '***';

/** Secrets shorter than this are masked inside connection strings only, never in free text (they would mangle it). */
const MIN_FREE_TEXT_SECRET = 3;

const SECRET_KEYS = /^(password|sslpassword|pass|pwd)$/i;

/** Every spelling of every secret in a connection string (raw, percent-decoded, percent-encoded). */
export function connectionSecrets(conn: string): string[] {
  const found = new Set<string>();
  const add = (raw: string | undefined) => {
    if (!raw) return;
    found.add(raw);
    const decoded = safeDecode(raw);
    found.add(decoded);
    found.add(encodeURIComponent(decoded));
  };
  // URL userinfo: everything between "://" and the LAST "@" before the
  // query — a raw "@" in a password belongs to the password.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(conn);
  if (scheme) {
    const rest = conn.slice(scheme[0].length);
    const beforeQuery = rest.split(/[?#]/, 1)[0]!;
    const at = beforeQuery.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = beforeQuery.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) add(userinfo.slice(colon + 1));
    }
    // The WHATWG reading (what the driver does) may split it differently: take that too.
    try {
      const u = new URL(conn);
      add(u.password);
      for (const [k, v] of u.searchParams) if (SECRET_KEYS.test(k)) add(v);
    } catch {
      // not a URL the parser accepts; the manual reading above stands
    }
    const query = rest.indexOf('?');
    if (query >= 0) {
      for (const pair of rest.slice(query + 1).split(/[&#]/)) {
        const eq = pair.indexOf('=');
        if (eq > 0 && SECRET_KEYS.test(safeDecode(pair.slice(0, eq)))) add(pair.slice(eq + 1));
      }
    }
  }
  // libpq key=value conninfo: password=secret or password='a \'quoted\' one'
  for (const m of conn.matchAll(/(?:^|[\s?&;])(\w+)\s*=\s*('(?:[^'\\]|\\.)*'?|[^\s&;]*)/g)) {
    if (!SECRET_KEYS.test(m[1]!)) continue;
    const value = m[2]!;
    found.add(value);
    if (value.startsWith("'")) {
      found.add(value.replace(/^'|'$/g, ''));
      add(value.replace(/^'|'$/g, '').replace(/\\(.)/g, '$1'));
    } else add(value);
  }
  found.delete('');
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * A connection string fit to print: every password (userinfo, query
 * parameter, conninfo value) replaced by `***`, whatever its length.
 */
export function redactConnectionString(conn: string): string {
  let out = conn;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(out);
  if (scheme) {
    const rest = out.slice(scheme[0].length);
    const cut = rest.search(/[?#]/);
    const head = cut >= 0 ? rest.slice(0, cut) : rest;
    const tail = cut >= 0 ? rest.slice(cut) : '';
    const at = head.lastIndexOf('@');
    let authority = head;
    if (at >= 0) {
      const userinfo = head.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) authority = `${userinfo.slice(0, colon)}:${MASK}${head.slice(at)}`;
    }
    const query = tail.replace(/([?&])([^=&#]+)=([^&#]*)/g, (m, sep: string, k: string) =>
      SECRET_KEYS.test(safeDecode(k)) ? `${sep}${k}=${MASK}` : m,
    );
    out = `${scheme[0]}${authority}${query}`;
  }
  out = out.replace(
    /((?:^|[\s;])(\w+)\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&;]*)/g,
    (m, lead: string, key: string) => (SECRET_KEYS.test(key) ? `${lead}${MASK}` : m),
  );
  // Whatever form was not recognized above, its secrets still go.
  return new Redactor(connectionSecrets(conn)).redact(out);
}

/** Masks known secrets in free text. */
export class Redactor {
  #secrets: string[] = [];

  constructor(secrets: readonly string[] = []) {
    for (const s of secrets) this.add(s);
  }

  /**
   * Adds a secret, with the forms it takes in transit: trimmed of
   * surrounding whitespace (HTTP header values are) and percent-encoded.
   */
  add(secret: string | undefined): void {
    if (!secret) return;
    for (const form of [secret, secret.trim(), encodeURIComponent(secret.trim())]) {
      if (form.length >= MIN_FREE_TEXT_SECRET && !this.#secrets.includes(form))
        this.#secrets.push(form);
    }
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join(MASK);
    return out;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The secrets of this command-line run: everything the CLI writes passes through it. */
export const cliSecrets = new Redactor();

/**
 * Passes everything written to stdout and stderr through `redactor` until
 * the returned function is called. Every output path of every command —
 * results, progress, warnings, usage errors, crashes — goes through these
 * two streams, so this is the one place a secret cannot get past.
 */
export function guardOutput(redactor: Redactor): () => void {
  const restores: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write;
    const guarded = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const clean =
        typeof chunk === 'string'
          ? redactor.redact(chunk)
          : chunk instanceof Uint8Array
            ? Buffer.from(redactor.redact(Buffer.from(chunk).toString('utf8')), 'utf8')
            : chunk;
      return (write as (...args: unknown[]) => boolean).call(this, clean, ...rest);
    };
    stream.write = guarded as typeof stream.write;
    restores.push(() => {
      stream.write = write;
    });
  }
  return () => {
    for (const r of restores) r();
  };
}

/**
 * The secrets a command line carries before any parsing: the password of
 * every `--db` value, and an `--api-key-env` value that is not a variable
 * name (a pasted key). Commander's own errors then cannot echo them.
 */
export function argvSecrets(argv: readonly string[], isEnvName: (s: string) => boolean): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg];
    const value = inline ?? argv[i + 1];
    if (value === undefined) return;
    if (flag === '--db' || flag === '--base-url') out.push(...connectionSecrets(value));
    if (flag === '--api-key-env' && !isEnvName(value)) out.push(value);
  });
  return out;
}
