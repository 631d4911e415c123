import { type Dirent, readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/** A file the rules take: its path relative to the folder (`/`-separated) and where to read it. */
export interface FoundFile {
  path: string;
  file: string;
}

/** Why an entry the walk saw was not indexed, though nothing is wrong with it. */
export type LeftOutReason =
  | 'excluded'
  | 'other type'
  | 'symlink outside the folder'
  | 'symlink loop'
  | 'no PDF reader';

/** What the rules left out of a walk: counted for the summary line, listed by `--verbose`. */
export interface LeftOut {
  /** Entries (a folder counts once, its files are not looked at) by why they were left out. */
  entries: { path: string; reason: LeftOutReason }[];
  /** Files the `--include` globs do not take, by extension (`(none)` without one). */
  otherTypes: Record<string, number>;
}

export interface WalkResult {
  found: FoundFile[];
  /** Entries that could not be used (a name that is not UTF-8, a folder we may not list). */
  skipped: { path: string; reason: string }[];
  /** Folders that could not be listed (`rel/`, `''` for the root): rows under them are kept. */
  unlisted: string[];
  leftOut: LeftOut;
}

/**
 * Walks `root` (or only `scope`, paths relative to it) and returns the files
 * the rules take. Symbolic links are followed when their target stays inside
 * the folder: a linked file is indexed under the link's path, a linked folder
 * is walked under it. A link that leads outside the folder is never followed,
 * and one that leads back to a folder being walked (a loop) is not followed
 * again; both are left out with the reason.
 */
export function walkFolder(
  root: string,
  rules: { wanted: (rel: string) => boolean; excluded: (rel: string) => boolean },
  scope?: readonly string[],
): WalkResult {
  const out: WalkResult = {
    found: [],
    skipped: [],
    unlisted: [],
    leftOut: { entries: [], otherTypes: {} },
  };
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = root;
  }
  const inside = (real: string) => real === realRoot || real.startsWith(`${realRoot}${sep}`);
  const leave = (path: string, reason: LeftOutReason) => out.leftOut.entries.push({ path, reason });
  const otherType = (rel: string) => {
    const ext = extname(rel).toLowerCase() || '(none)';
    out.leftOut.otherTypes[ext] = (out.leftOut.otherTypes[ext] ?? 0) + 1;
    leave(rel, 'other type');
  };

  /** `chain` holds the real paths of the folders being walked, outermost first: a link back into one is a loop. */
  const walk = (abs: string, rel: string, chain: string[]) => {
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      out.unlisted.push(rel === '' ? '' : `${rel}/`);
      out.skipped.push({ path: rel || '.', reason: `cannot list this folder: ${why(e)}` });
      return;
    }
    for (const entry of entries) {
      const name = entry.name.toString('utf8');
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (rules.excluded(childRel)) {
        leave(childRel, 'excluded');
        continue;
      }
      const full = join(abs, name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let real: string | undefined;
      if (entry.isSymbolicLink()) {
        try {
          real = realpathSync(full);
          const st = statSync(real);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // a dangling link: nothing to read
        }
        if (!inside(real)) {
          if (isDir || rules.wanted(childRel)) leave(childRel, 'symlink outside the folder');
          else if (isFile) otherType(childRel);
          continue;
        }
      }
      if (isFile && !rules.wanted(childRel)) {
        otherType(childRel);
        continue;
      }
      if (!isDir && !isFile) continue; // sockets, pipes, devices
      if (!Buffer.from(name, 'utf8').equals(entry.name)) {
        out.skipped.push({
          path: childRel,
          reason: `the ${isDir ? 'folder' : 'file'} name is not valid UTF-8; rename it to index it`,
        });
        continue;
      }
      if (isFile) {
        out.found.push({ path: childRel, file: full });
        continue;
      }
      const realDir = real ?? join(chain[chain.length - 1]!, name);
      if (real !== undefined && chain.includes(realDir)) {
        leave(childRel, 'symlink loop');
        continue;
      }
      walk(full, childRel, [...chain, realDir]);
    }
  };

  if (scope === undefined) walk(root, '', [realRoot]);
  else {
    for (const rel of new Set(scope)) {
      const full = join(root, rel);
      if (rel !== '' && rules.excluded(rel)) continue;
      let real: string;
      let st: ReturnType<typeof statSync>;
      try {
        real = realpathSync(full);
        st = statSync(real);
      } catch {
        continue; // gone: its rows are removed by the caller
      }
      if (!inside(real)) continue; // now a link to outside: its rows go
      if (st.isDirectory()) walk(full, rel, [realRoot, real]);
      else if (st.isFile() && rules.wanted(rel)) out.found.push({ path: rel, file: full });
    }
  }
  // A folder and a file inside it may both be in scope: each file once.
  out.found = [...new Map(out.found.map((f) => [f.path, f])).values()];
  out.found.sort((a, b) => (a.path < b.path ? -1 : 1));
  return out;
}

/** The path of `abs` relative to `root`, `/`-separated. */
export function relPath(root: string, abs: string): string {
  return relative(root, abs).split(sep).join('/');
}

/** A file-system error as a short reason. */
export function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'it vanished while indexing (deleted or renamed)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

/**
 * One line saying what the rules left out and why, or `undefined` when they
 * left out nothing, e.g. `left out 14 files of other types (.html 9, .json
 * 5), 2 excluded entries (node_modules, .git), 1 symlink outside the folder`.
 */
export function describeLeftOut(leftOut: LeftOut, verboseHint: boolean): string | undefined {
  const count = (r: LeftOutReason) => leftOut.entries.filter((e) => e.reason === r).length;
  const parts: string[] = [];
  const types = Object.entries(leftOut.otherTypes).sort((a, b) => b[1] - a[1]);
  const other = types.reduce((n, [, c]) => n + c, 0);
  if (other > 0) {
    const shown = types.slice(0, 5).map(([ext, c]) => `${ext} ${c}`);
    if (types.length > 5) shown.push('…');
    parts.push(
      `${other} ${plural(other, 'file')} of other types (${shown.join(', ')}; --include takes them)`,
    );
  }
  const excluded = leftOut.entries.filter((e) => e.reason === 'excluded');
  if (excluded.length > 0) {
    const names = [...new Set(excluded.map((e) => e.path.split('/').pop()!))];
    const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? ', …' : '');
    parts.push(
      `${excluded.length} excluded ${plural(excluded.length, 'entry', 'entries')} (${shown})`,
    );
  }
  const outside = count('symlink outside the folder');
  if (outside > 0)
    parts.push(
      `${outside} ${plural(outside, 'symlink')} leading outside the folder (never followed)`,
    );
  const loops = count('symlink loop');
  if (loops > 0) parts.push(`${loops} symlink ${plural(loops, 'loop')} (not followed again)`);
  const pdfs = count('no PDF reader');
  if (pdfs > 0)
    parts.push(
      `${pdfs} PDF ${plural(pdfs, 'file')} (reading PDFs needs the optional package pdfjs-dist: npm install pdfjs-dist)`,
    );
  if (parts.length === 0) return undefined;
  return `left out ${parts.join(', ')}${verboseHint ? '; --verbose lists them' : ''}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}
