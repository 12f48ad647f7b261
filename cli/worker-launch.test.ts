import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { workerNodeFlags, workerProcessArgs } from './worker-launch.ts';

test('the worker node flags are options this node accepts, and the launcher and workerProcessArgs both use them', () => {
  const flags = workerNodeFlags();
  assert.ok(flags.length > 0 && flags.every((f) => f.startsWith('--')), flags.join(' '));
  // node refuses an unknown or malformed option with exit code 9.
  execFileSync(process.execPath, [...flags, '-e', '0'], { stdio: 'pipe' });
  assert.deepEqual(workerProcessArgs(['--cpu-prof']).slice(0, flags.length + 1), [...flags, '--cpu-prof']);
  assert.deepEqual(workerProcessArgs().slice(-4), ['--import', 'tsx', 'cli/main.ts', 'worker']);
  const launcher = readFileSync(new URL('../novacron', import.meta.url), 'utf8');
  assert.match(launcher, /worker\)[\s\S]*?exec node \$\(cat cli\/worker\.node-flags\) --import tsx cli\/main\.ts "\$@"/);
});
