// The environment variables the code reads, found in its source: what core/config.ts compiles
// (its `e.<name>` reads) and any process.env read elsewhere. The configuration reference and the
// compose file are checked against these, so neither can drift from the code.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../core/index.ts';

const SKIP_DIRS = new Set(['node_modules', '.git', '.novacron', 'target']);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Variables core/config.ts reads (loadConfig's `e.NAME`): the settings every process shares. */
export function configEnvVars(): Set<string> {
  const source = readFileSync(join(PROJECT_ROOT, 'core', 'config.ts'), 'utf8');
  return new Set([...source.matchAll(/\be\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!));
}

/** Every variable read through process.env outside core/config.ts, with the files that read it. */
export function otherEnvReads(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of tsFiles(PROJECT_ROOT)) {
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]+)|\[\s*'([A-Z][A-Z0-9_]+)'\s*\])/g)) {
      const name = (m[1] ?? m[2])!;
      out.set(name, [...(out.get(name) ?? []), relative(PROJECT_ROOT, file)]);
    }
  }
  return out;
}
