import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const COMMANDS = [
  'demo',
  'index',
  'watch',
  'fill',
  'search',
  'mcp',
  'status',
  'config',
  'migrate',
  'install-trigger',
  'activate',
  'retire',
  'reopen',
  'reclaim',
  'vacuum',
];

const help = new Map<string, string>();
beforeAll(async () => {
  await Promise.all(
    COMMANDS.map(async (c) => {
      const r = await runCli([c, '--help']);
      expect(r.code).toBe(0);
      help.set(c, r.stdout);
    }),
  );
}, 60_000);

/** The flags a help text lists (`--no-fill` included). */
function flagsOf(text: string): Set<string> {
  return new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
}

/** The README's "Command line" section, up to the next second-level heading. */
function readmeSection(): string {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Command line');
  const end = readme.indexOf('\n## ', start + 5);
  return readme.slice(start, end);
}

describe('--help and the README agree (issue 17 #8)', () => {
  it('every command has examples, the exit codes and postgres:// for --db', () => {
    for (const c of COMMANDS) {
      const h = help.get(c)!;
      expect(h, c).toMatch(/Examples:\n {2}\$ vecfill /);
      expect(h, c).toMatch(/Exit codes:[\s\S]*130/);
      if (c !== 'demo') expect(h, c).toMatch(/postgres:\/\//);
    }
  });

  it('encoder flags are grouped by the encoder they belong to', () => {
    const h = help.get('fill')!;
    const section = (title: RegExp) => {
      const at = h.search(title);
      expect(at).toBeGreaterThan(-1);
      return h.slice(at).split('\n\n')[0]!;
    };
    expect(section(/^Encoder words/m)).toMatch(/--weighting/);
    expect(section(/^Encoder words/m)).not.toMatch(/--base-url|--model/);
    expect(section(/^Encoder openai \(/m)).toMatch(/--base-url[\s\S]*--api-key-env/);
    expect(section(/^Encoder openai \(/m)).not.toMatch(/--weighting/);
    expect(section(/^Encoder transformers/m)).toMatch(/--dtype/);
  });

  it("every flag in the README's command-line section exists in the matching command's --help", () => {
    const section = readmeSection();
    const all = new Set<string>();
    for (const h of help.values()) for (const f of flagsOf(h)) all.add(f);
    // Lines that run a command: each flag on them belongs to that command.
    for (const line of section.split('\n')) {
      const m = /(?:vecfill(?:\.js)?) ([a-z-]+)\s(.*)$/.exec(line);
      if (!m || !COMMANDS.includes(m[1]!)) continue;
      const own = flagsOf(help.get(m[1]!)!);
      for (const flag of flagsOf(m[2]!.replace(/#.*$/, '')))
        expect(own, `${m[1]} ${flag}`).toContain(flag);
    }
    // Everywhere else in the section: some command has it.
    for (const flag of flagsOf(section)) expect(all, flag).toContain(flag);
  });
});
