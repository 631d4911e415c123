import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { CLI_DEFAULTS as D } from './defaults.js';
import { CliError, EXIT } from './errors.js';
import { type FileText, fileText } from './file-text.js';
import { FILES_TABLE, FilesTable } from './files-table.js';
import { type LeftOut, walkFolder, why } from './folder-walk.js';
import { globToRegExp } from './glob.js';
import { loadPdfJs, pdfText } from './pdf-text.js';
import type { Workspace } from './workspace.js';

export { FILES_TABLE };

export interface IndexOptions {
  include?: string[];
  exclude?: string[];
  /** Files larger than this are skipped with a warning. Default 20 MiB. */
  maxBytes?: number;
  /**
   * Re-examine only these paths (relative to the folder, `/`-separated; a
   * folder means everything under it), as `vecfill watch` does after file
   * system events: files found there are added or updated, rows there whose
   * file is gone are removed, every other row is left as it is.
   */
  paths?: string[];
  /** The folder was moved here from the place this database indexes: re-root it (`--moved`). */
  moved?: boolean;
}

export interface IndexResult {
  root: string;
  files: number;
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  /** Files that moved (a row removed and one added with the same content): their vectors moved too, nothing was embedded again. */
  moved: number;
  skipped: { path: string; reason: string }[];
  /** What the rules left out (other file types, excluded folders, symlinks leading outside): nothing wrong with it. */
  leftOut: LeftOut;
}

/** The formats `index` reads by default: Markdown, plain text, HTML and PDF (with pdfjs-dist installed). */
export const DEFAULT_INCLUDE = [
  '**/*.md',
  '**/*.markdown',
  '**/*.txt',
  '**/*.html',
  '**/*.htm',
  '**/*.pdf',
];
export const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/.git/**'];

/** The include and exclude globs of `index` (and `watch`), compiled. */
export function folderRules(opts: Pick<IndexOptions, 'include' | 'exclude'>): {
  include: RegExp[];
  exclude: RegExp[];
  /** Whether a file at this relative path is indexed (when it is a readable text file). */
  wanted: (rel: string) => boolean;
  /** Whether this relative path (file or folder) is left out. */
  excluded: (rel: string) => boolean;
} {
  const include = (opts.include?.length ? opts.include : DEFAULT_INCLUDE).map(globToRegExp);
  const exclude = [...DEFAULT_EXCLUDE, ...(opts.exclude ?? [])].map(globToRegExp);
  const excluded = (rel: string) => exclude.some((re) => re.test(rel) || re.test(`${rel}/`));
  return {
    include,
    exclude,
    excluded,
    wanted: (rel) => !excluded(rel) && include.some((re) => re.test(rel)),
  };
}

/**
 * Loads `.md`/`.txt` files under `dir` into the `documents` table: new files
 * are added, changed files (by content hash) updated, and rows of deleted
 * files removed together with their vectors. Unchanged files keep their
 * stamps, so only what changed is embedded again.
 */
export async function indexFolder(
  ws: Workspace,
  dir: string,
  opts: IndexOptions = {},
): Promise<IndexResult> {
  const root = resolve(dir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    throw new CliError(`folder ${dir} does not exist`, EXIT.notFound);
  }
  if (!st.isDirectory()) throw new CliError(`${dir} is not a folder`, EXIT.usage);
  const maxBytes = opts.maxBytes ?? D.maxBytes;

  const files = FilesTable.open(ws.db);
  const savedRoot = await ws.savedRoot();
  if (savedRoot !== undefined && savedRoot !== root && !opts.moved) {
    throw new CliError(
      `this database indexes ${savedRoot}; if that folder moved to ${root}, run \`vecfill index ${root} --moved\` (unchanged files are not embedded again), else index ${root} into another --db`,
      EXIT.usage,
    );
  }
  await ws.configureTable({ ...FILES_TABLE, prefix: ws.vectorsPrefix });
  await ws.saveRoot(root);

  const result: IndexResult = {
    root,
    files: 0,
    added: 0,
    changed: 0,
    unchanged: 0,
    removed: 0,
    moved: 0,
    skipped: [],
    leftOut: { entries: [], otherTypes: {} },
  };
  const scope = opts.paths?.map((p) => p.split(sep).join('/').replace(/\/+$/, ''));
  const inScope = (path: string) =>
    scope === undefined || scope.some((p) => p === '' || path === p || path.startsWith(`${p}/`));
  // One bad entry (a name that is not UTF-8, a folder or file we may not
  // read, a file deleted while we walk) is skipped with its reason; it never
  // stops the rest of the folder from being indexed.
  const walked = walkFolder(root, folderRules(opts), scope);
  const { found, unlisted } = walked;
  result.skipped.push(...walked.skipped);
  result.leftOut = walked.leftOut;
  /** Files that exist but could not be read: their rows are kept, not removed. */
  const unreadable = new Set<string>();

  // PDFs are read before the transaction (pdfjs-dist is asynchronous), and
  // only when the optional package is installed; otherwise each is left out
  // with that reason, and its row (from a run that could read it) is kept.
  const pdfs = new Map<string, FileText | { skip: string }>();
  const pdfFiles = found.filter((f) => /\.pdf$/i.test(f.path));
  const pdfjs = pdfFiles.length > 0 ? await loadPdfJs() : undefined;
  for (const { path, file } of pdfFiles) {
    if (pdfjs === undefined) {
      result.leftOut.entries.push({ path, reason: 'no PDF reader' });
      continue;
    }
    try {
      if (statSync(file).size <= maxBytes)
        pdfs.set(path, await pdfText(pdfjs, path, readFileSync(file)));
    } catch {
      // read again in the loop, which reports why
    }
  }
  const unreadPdfs = new Set(pdfjs === undefined ? pdfFiles.map((f) => f.path) : []);

  const existing = files.hashes();
  const seen = new Set<string>();
  const backend = await ws.backendStore();
  const store = backend.store;
  // SQLite (the only backend `index` runs on) moves a renamed file's vectors.
  const mover = backend.kind === 'sqlite' ? backend.store : undefined;
  const removed: string[] = [];
  /** New paths by content hash, for telling a move from a delete plus an add. */
  const addedByHash = new Map<string, string[]>();
  files.transaction(() => {
    for (const { path, file } of found) {
      if (unreadPdfs.has(path)) {
        unreadable.add(path);
        continue;
      }
      let size: number;
      let content: string;
      let title: string;
      try {
        size = statSync(file).size;
        if (size > maxBytes) {
          result.skipped.push({ path, reason: `larger than ${maxBytes} bytes` });
          continue;
        }
        const read = pdfs.get(path) ?? fileText(path, readFileSync(file));
        if ('skip' in read) {
          result.skipped.push({ path, reason: read.skip });
          continue;
        }
        content = read.text;
        title = read.title;
      } catch (e) {
        // A file deleted mid-walk is gone (its row goes too); one we may not
        // read keeps its row until it is readable again.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.add(path);
        result.skipped.push({ path, reason: why(e) });
        continue;
      }
      const hash = createHash('sha256').update(content).digest('hex');
      seen.add(path);
      result.files++;
      const before = existing.get(path);
      if (before === undefined) {
        result.added++;
        addedByHash.set(hash, [...(addedByHash.get(hash) ?? []), path]);
      } else if (before !== hash) result.changed++;
      else result.unchanged++;
      if (before !== hash) files.write({ path, title, content, hash, bytes: size });
    }
    for (const [path, hash] of existing) {
      if (seen.has(path) || !inScope(path) || unreadable.has(path)) continue;
      if (unlisted.some((dir) => path.startsWith(dir))) continue;
      files.remove(path);
      const to = addedByHash.get(hash)?.shift();
      if (to !== undefined && mover) {
        // A rename: the content hash is the revision, so the vectors stay valid under the new path.
        mover.moveVectors(path, to);
        result.added--;
        result.moved++;
        continue;
      }
      removed.push(path);
      result.removed++;
    }
  });
  // The rows are gone, so their vectors can never be returned; now free them.
  for (const path of removed) await store.deleteVectors(path);
  return result;
}
