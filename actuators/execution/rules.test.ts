import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasCode } from '../../core/index.ts';
import { autoApprovable, automationOf } from './automation.ts';
import { checkLimits, DEFAULT_LIMITS, insideWindow, RunningSlots } from './limits.ts';
import { ACTION_STATES, checkActionTransition, checkPlanTransition, PLAN_STATES, TERMINAL_ACTION_STATES, TERMINAL_PLAN_STATES } from './states.ts';

test('life cycles: the allowed transitions, and nothing leaves a final state', () => {
  checkPlanTransition('proposed', 'approved');
  checkPlanTransition('approved', 'running');
  checkPlanTransition('failed', 'rolled_back');
  checkActionTransition('running', 'approved'); // a crash before anything happened: run again
  checkActionTransition('succeeded', 'rolled_back');
  assert.throws(() => checkPlanTransition('proposed', 'running'), (e) => hasCode(e, 'EXECUTION_TRANSITION_INVALID') && /may go to approved, rejected, superseded/.test(e.message));
  assert.throws(() => checkActionTransition('proposed', 'running'), (e) => hasCode(e, 'EXECUTION_TRANSITION_INVALID'));
  for (const s of PLAN_STATES) if (TERMINAL_PLAN_STATES.has(s) && s !== 'failed') for (const t of PLAN_STATES) assert.throws(() => checkPlanTransition(s, t));
  for (const s of ACTION_STATES) if (TERMINAL_ACTION_STATES.has(s) && s !== 'succeeded') for (const t of ACTION_STATES) assert.throws(() => checkActionTransition(s, t));
});

test('maintenance windows in UTC, including one that wraps past midnight and one limited to weekdays', () => {
  const at = (iso: string) => new Date(iso);
  assert.equal(insideWindow([], at('2026-12-03T12:00:00Z')), true, 'no window: any time');
  const night = [{ start: '22:00', end: '06:00' }];
  assert.equal(insideWindow(night, at('2026-12-03T23:30:00Z')), true);
  assert.equal(insideWindow(night, at('2026-12-04T05:59:00Z')), true);
  assert.equal(insideWindow(night, at('2026-12-04T06:00:00Z')), false);
  assert.equal(insideWindow(night, at('2026-12-03T12:00:00Z')), false);
  // Saturday nights only: Sunday 01:00 belongs to Saturday's window, Monday 01:00 does not.
  const saturday = [{ start: '22:00', end: '06:00', days: [6] }];
  assert.equal(insideWindow(saturday, at('2026-12-05T23:00:00Z')), true);
  assert.equal(insideWindow(saturday, at('2026-12-06T01:00:00Z')), true);
  assert.equal(insideWindow(saturday, at('2026-12-07T01:00:00Z')), false);
  assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, windows: [{ start: '25:00', end: '01:00' }] }), (e) => hasCode(e, 'EXECUTION_LIMITS_INVALID') && /windows\[0\]\.start/.test(e.message));
  assert.throws(() => checkLimits({ ...DEFAULT_LIMITS, maxConcurrentPerHost: 0 }), (e) => hasCode(e, 'EXECUTION_LIMITS_INVALID'));
});

test('property: slots never allow more than the per-host and per-cluster limits, the hourly budget, or two actions on one VM', () => {
  const hosts = ['a', 'b', 'c', 'd'];
  fc.assert(
    fc.property(
      fc.array(fc.record({ vm: fc.nat(5), from: fc.nat(3), to: fc.nat(3), finish: fc.boolean() }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 30 }),
      (ops, perHost, perCluster, perHour) => {
        const clusterOf = (h: string) => (h < 'c' ? 'left' : 'right');
        const slots = new RunningSlots({ ...DEFAULT_LIMITS, maxConcurrentPerHost: perHost, maxConcurrentPerCluster: perCluster, maxMigrationsPerHour: perHour }, clusterOf);
        const running: { vmId: string; fromHost: string; toHost: string }[] = [];
        let started = 0;
        for (const op of ops) {
          if (op.finish && running.length > 0) {
            slots.finish(running.shift()!);
            continue;
          }
          const m = { vmId: `vm${op.vm}`, fromHost: hosts[op.from]!, toHost: hosts[op.to === op.from ? (op.to + 1) % 4 : op.to]! };
          if (slots.blocker(m, started, new Set()) !== null) continue;
          slots.start(m);
          running.push(m);
          started++;
          assert.ok(started <= perHour);
          assert.equal(new Set(running.map((r) => r.vmId)).size, running.length, 'one action per VM');
          for (const h of hosts) assert.ok(running.filter((r) => r.fromHost === h || r.toHost === h).length <= perHost);
          for (const c of ['left', 'right']) assert.ok(running.filter((r) => clusterOf(r.fromHost) === c || clusterOf(r.toHost) === c).length <= perCluster);
        }
      },
    ),
  );
  const slots = new RunningSlots(DEFAULT_LIMITS, () => '');
  assert.match(slots.blocker({ vmId: 'v', fromHost: 'a', toHost: 'b' }, 0, new Set(['v']))!, /v has another action running/);
});

test('automation levels: first matching group wins; power-offs follow their host\'s departures; bad policies are refused', () => {
  const levelOf = automationOf({ defaultLevel: 'partial', groups: [{ name: 'db', vmPattern: 'db-.*', level: 'manual' }, { name: 'all-web', vmPattern: 'web-.*|db-web', level: 'full' }] });
  assert.deepEqual(['db-1', 'db-web', 'web-3', 'cache'].map(levelOf), ['manual', 'manual', 'full', 'partial']);
  const actions = [
    { kind: 'migrate' as const, vmId: 'web-1', fromHost: 'h1', toHost: 'h2', cpuCores: 1, memBytes: 1, reason: '' },
    { kind: 'migrate' as const, vmId: 'web-2', fromHost: 'h3', toHost: 'h2', cpuCores: 1, memBytes: 1, reason: '' },
    { kind: 'migrate' as const, vmId: 'db-1', fromHost: 'h3', toHost: 'h2', cpuCores: 1, memBytes: 1, reason: '' },
    { kind: 'power-off' as const, hostId: 'h1', reason: '' },
    { kind: 'power-off' as const, hostId: 'h3', reason: '' },
  ];
  assert.deepEqual(autoApprovable(actions, levelOf), [true, true, false, true, false]);
  assert.throws(() => automationOf({ defaultLevel: 'auto' as never, groups: [] }), (e) => hasCode(e, 'EXECUTION_AUTOMATION_INVALID'));
  assert.throws(() => automationOf({ defaultLevel: 'full', groups: [{ name: 'x', vmPattern: '(', level: 'full' }] }), (e) => hasCode(e, 'EXECUTION_AUTOMATION_INVALID') && /groups\[0\]\.vmPattern/.test(e.message));
});
