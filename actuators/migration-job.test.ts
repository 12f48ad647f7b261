import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode, NovaError } from '../core/index.ts';
import type { MigrationProgress } from './hypervisor.ts';
import { checkMigrateOptions, superviseMigration, type MigrationHooks, type RunningMigration } from './migration-job.ts';

// The supervisor's control flow against a scripted job: what it polls, when it aborts, what it
// reports. The real libvirt behaviour is in test/integration/hypervisor-real.test.ts.

interface Script {
  /** ms after start at which the call returns by itself (ok), or never. */
  finishesAfterMs?: number;
  /** Whether an abort ends the call (with libvirt's "canceled by client" error). */
  abortable?: boolean;
  /** The call fails by itself after this long, with this error. */
  failsAfterMs?: [number, Error];
}

function scripted(script: Script): { job: RunningMigration; aborts: () => number; kills: () => number } {
  let aborts = 0;
  let kills = 0;
  let settle: { ok: () => void; fail: (e: Error) => void } | undefined;
  const finished = new Promise<void>((ok, fail) => {
    settle = { ok, fail };
  });
  if (script.finishesAfterMs !== undefined) setTimeout(() => settle!.ok(), script.finishesAfterMs);
  if (script.failsAfterMs) setTimeout(() => settle!.fail(script.failsAfterMs![1]), script.failsAfterMs[0]);
  const started = performance.now();
  return {
    aborts: () => aborts,
    kills: () => kills,
    job: {
      finished,
      progress: async (): Promise<MigrationProgress> => ({ elapsedMs: Math.round(performance.now() - started), dataTotalBytes: 100, dataProcessedBytes: 10, dataRemainingBytes: 90 }),
      abort: async () => {
        aborts++;
        if (script.abortable) setTimeout(() => settle!.fail(new Error('operation aborted: migration out job: canceled by client')), 5);
      },
      kill: () => {
        kills++;
        settle!.fail(new Error('killed'));
      },
    },
  };
}

function hooks(overrides: Partial<MigrationHooks> = {}): MigrationHooks {
  return {
    name: 'vm1',
    sourceUri: 'qemu+ssh://a/system',
    targetUri: 'qemu+ssh://b/system',
    pollMs: 10,
    abortGraceMs: 1000,
    recoverSource: async () => 'running',
    classify: (e) => new NovaError('HYPERVISOR_MIGRATION_FAILED', `failed: ${(e as Error).message}`),
    ...overrides,
  };
}

describe('superviseMigration', () => {
  it('reports progress while the job runs and resolves when it ends', async () => {
    const { job, aborts } = scripted({ finishesAfterMs: 80 });
    const seen: MigrationProgress[] = [];
    const r = await superviseMigration(() => job, { timeoutMs: 5000, onProgress: (p) => seen.push(p) }, hooks());
    assert.ok(seen.length >= 3, `${seen.length} progress reports`);
    assert.ok(r.seconds >= 0.07 && r.seconds < 2);
    assert.equal(aborts(), 0);
  });

  it('aborts on timeout and says where the domain is', async () => {
    const { job, aborts } = scripted({ abortable: true });
    await assert.rejects(superviseMigration(() => job, { timeoutMs: 50 }, hooks()), (e) => {
      assert.ok(hasCode(e, 'HYPERVISOR_MIGRATION_TIMEOUT'));
      assert.equal(e.retriable, true);
      assert.match(e.message, /did not finish within 50 ms and was aborted; it is running on qemu\+ssh:\/\/a\/system/);
      assert.equal(e.details?.['sourceState'], 'running');
      return true;
    });
    assert.equal(aborts(), 1);
  });

  it('keeps asking for the abort until the job exists, then ends', async () => {
    let calls = 0;
    const { job } = scripted({});
    let fail: (e: Error) => void = () => undefined;
    const finished = new Promise<void>((_, reject) => (fail = reject));
    const slowToStart: RunningMigration = {
      ...job,
      finished,
      abort: async () => {
        calls++;
        if (calls < 3) throw new Error('no job is active on the domain');
        setTimeout(() => fail(new Error('canceled by client')), 5);
      },
    };
    await assert.rejects(superviseMigration(() => slowToStart, { timeoutMs: 20 }, hooks()), (e) => hasCode(e, 'HYPERVISOR_MIGRATION_TIMEOUT'));
    assert.equal(calls, 3);
  });

  it('cancels on the signal, with its own code', async () => {
    const { job } = scripted({ abortable: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(superviseMigration(() => job, { timeoutMs: 5000, signal: controller.signal }, hooks()), (e) => hasCode(e, 'HYPERVISOR_MIGRATION_CANCELLED') && !e.retriable);
  });

  it('resolves when the move completed before the abort landed', async () => {
    const { job, aborts } = scripted({ finishesAfterMs: 30 });
    const r = await superviseMigration(() => job, { timeoutMs: 20 }, hooks({ pollMs: 5 }));
    assert.ok(r.seconds > 0);
    assert.ok(aborts() >= 1);
  });

  it('kills the caller side when aborts do not end the call within the grace period', async () => {
    const { job, kills } = scripted({});
    await assert.rejects(superviseMigration(() => job, { timeoutMs: 10 }, hooks({ abortGraceMs: 40 })), (e) => hasCode(e, 'HYPERVISOR_MIGRATION_TIMEOUT'));
    assert.equal(kills(), 1);
  });

  it('classifies a failure through the adapter and warns when the domain is not on its source any more', async () => {
    const { job } = scripted({ failsAfterMs: [20, new Error('boom')] });
    await assert.rejects(superviseMigration(() => job, { timeoutMs: 5000 }, hooks({ recoverSource: async () => null })), (e) => {
      assert.ok(hasCode(e, 'HYPERVISOR_MIGRATION_FAILED'));
      assert.match(e.message, /^failed: boom; it is NOT found on qemu\+ssh:\/\/a\/system any more: check qemu\+ssh:\/\/b\/system$/);
      return true;
    });
  });

  it('rejects options a migration cannot start with', () => {
    assert.throws(() => checkMigrateOptions({ timeoutMs: 0 }), (e) => hasCode(e, 'HYPERVISOR_INVALID_ARGUMENT'));
    assert.throws(() => checkMigrateOptions({ timeoutMs: Number.NaN }), (e) => hasCode(e, 'HYPERVISOR_INVALID_ARGUMENT'));
    assert.throws(() => checkMigrateOptions({ timeoutMs: 1000, bandwidthMiBps: 0.5 }), (e) => hasCode(e, 'HYPERVISOR_INVALID_ARGUMENT'));
    checkMigrateOptions({ timeoutMs: 1000, bandwidthMiBps: 100 });
  });
});
