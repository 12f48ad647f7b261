import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One policy: what the PlanetLab replay decided at a tick, replanned by the product's CLI from the
// snapshot it saved, with no server running, is the same plan to the byte.
const node = (args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', ...args], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('bench:planetlab --dump-at and novacron plan --snapshot give byte-identical plans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'novacron-dump-'));
  try {
    // Tick 5 is the replay's first hour: consolidation from CloudSim's 800-host spread is still under way.
    node(['bench/planetlab.ts', '--day', '20110303', '--policies', 'novacron', '--dump-at', '5', '--dump-dir', dir]);
    node(['cli/main.ts', 'plan', '--snapshot', join(dir, 'snapshot.json'), '--out', join(dir, 'replan.json')]);
    const dumped = readFileSync(join(dir, 'plan.json'));
    const replanned = readFileSync(join(dir, 'replan.json'));
    const plan = JSON.parse(dumped.toString('utf8')) as { actions: { kind: string }[]; createdAt: number };
    assert.ok(plan.actions.some((a) => a.kind === 'migrate'), 'the dumped plan moves VMs (a non-trivial decision)');
    assert.equal(plan.createdAt, Date.UTC(2011, 2, 3) + 5 * 300_000 + 100, 'stamped with simulated time, never the wall clock');
    assert.ok(replanned.equals(dumped), 'the replanned file is byte-identical');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot file with a bad field is refused with a code naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'novacron-bad-'));
  try {
    const bad = join(dir, 'snapshot.json');
    execFileSync('sh', ['-c', `printf '%s' '{"takenAt":0,"hosts":[{"hostId":"h","cpuCores":-1,"memBytes":1}],"vms":[]}' > ${bad}`]);
    assert.throws(() => node(['cli/main.ts', 'plan', '--snapshot', bad]), (e: Error & { stderr?: string }) => /SCHEDULER_FILE_INVALID/.test(e.stderr ?? '') && /hosts\[0\]\.cpuCores/.test(e.stderr ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
