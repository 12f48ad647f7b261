// docs/configuration.md is the one reference of every setting: every environment variable the code
// reads (core/config.ts's, and process.env reads anywhere else) must be named there, so the page
// cannot fall behind the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { PROJECT_ROOT } from '../core/index.ts';
import { configEnvVars, otherEnvReads } from './support/env-vars.ts';

const page = readFileSync(join(PROJECT_ROOT, 'docs', 'configuration.md'), 'utf8');
// Names as the page writes them: `NAME`, including shorthand rows such as `NOVACRON_X_HOST` / `NOVACRON_X_PORT`.
const documented = new Set([...page.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));

it('names every variable core/config.ts reads', () => {
  const vars = configEnvVars();
  // The scan itself must work: a rename of `e` in loadConfig would otherwise pass silently.
  assert.ok(vars.size > 40 && vars.has('DATABASE_URL') && vars.has('NOVACRON_PLANNER_METRICS_PORT'), `found ${vars.size}`);
  const missing = [...vars].filter((v) => !documented.has(v));
  assert.deepEqual(missing, [], `not in docs/configuration.md: ${missing.join(', ')}`);
});

it('names every variable read through process.env elsewhere (tests, benchmarks, adapters)', () => {
  const reads = otherEnvReads();
  assert.ok(reads.has('CI'), 'the scan finds process.env reads');
  const missing = [...reads].filter(([v]) => !documented.has(v)).map(([v, files]) => `${v} (${[...new Set(files)].join(', ')})`);
  assert.deepEqual(missing, [], `not in docs/configuration.md: ${missing.join('; ')}`);
});
