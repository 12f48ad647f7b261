import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, decodeSamples, encodeSample, SampleError, validateSample, type Sample } from '../schemas/index.ts';
import { FUZZ_KINDS, fuzzCases, fuzzTraffic, SyntheticFleet, type FleetTick } from './index.ts';

const STEP = 300_000;
const NOW = Math.floor(Date.UTC(2025, 5, 1, 12) / STEP) * STEP;
const fleet = new SyntheticFleet({ hosts: 4, vmsPerHost: 3, seed: 5, stepMs: STEP });
const ticks: FleetTick[] = Array.from({ length: 24 }, (_, k) => fleet.tick(k, NOW - (23 - k) * STEP));

const codeOf = (err: unknown): { code?: string; field?: string } => {
  assert.ok(err instanceof SampleError, `expected SampleError, got ${String(err)}`);
  return { code: err.code, field: err.field };
};

/**
 * What the streams worker does with the bytes, `lagMs` after they were produced: the message's
 * rejection, or for a host tick the rejection of its one bad sample (and that sample's
 * single-sample bytes, which the DLQ then holds). streams/avro-decoder.ts is the real thing;
 * test/integration/dlq-fuzz.test.ts runs these cases through it.
 */
function verdict(value: Buffer, lagMs = 0): { code?: string; field?: string; deadValue?: Buffer; rejections?: number } {
  let samples: Sample[];
  let tickHost: string | undefined;
  try {
    const m = decodeMessage(value);
    if (m.kind === 'tick' && !m.tick.host && m.tick.vms.length === 0) return { code: 'SAMPLE_EMPTY', rejections: 1 };
    tickHost = m.kind === 'tick' ? m.tick.host?.hostId : undefined;
    samples = decodeSamples(value);
  } catch (err) {
    return { ...codeOf(err), rejections: 1 };
  }
  const rejected: { code?: string; field?: string; deadValue?: Buffer }[] = [];
  for (const s of samples) {
    if (tickHost !== undefined && s.sample.hostId !== tickHost) {
      rejected.push({ code: 'SAMPLE_INVALID_FIELD', field: 'hostId', deadValue: encodeSample(s) });
      continue;
    }
    try {
      validateSample(s, NOW + lagMs);
    } catch (err) {
      rejected.push({ ...codeOf(err), deadValue: encodeSample(s) });
    }
  }
  if (rejected.length === 0) return {};
  return { ...rejected[0]!, rejections: rejected.length };
}

test('every fuzz case is rejected with one of its codes, naming its field, even read half an hour late (future ones are an hour ahead or more)', () => {
  const cases = fuzzCases(FUZZ_KINDS.length * 700, ticks, { seed: 1, now: NOW });
  const byKind = new Map<string, number>();
  for (const lag of [0, 30 * 60_000]) {
    cases.forEach((c, i) => {
      const v = verdict(c.value, lag);
      assert.ok(v.code && c.codes.includes(v.code as never), `case ${i} (${c.kind}): got ${v.code ?? 'accepted'}, expected one of ${c.codes.join(', ')}`);
      if (c.field) assert.equal(v.field, c.field, `case ${i} (${c.kind}) names ${c.field}`);
      assert.equal(v.rejections, 1, `case ${i} (${c.kind}) is one dead letter`);
      if (c.deadValue) assert.deepEqual(v.deadValue, c.deadValue, `case ${i} (${c.kind}): the DLQ holds the bad sample alone`);
    });
  }
  for (const c of cases) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
  assert.deepEqual([...byKind.keys()].sort(), [...FUZZ_KINDS].sort());
  for (const [kind, n] of byKind) assert.equal(n, 700, `${kind} has its equal share`);
});

test('any seed: every case is rejected (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      for (const c of fuzzCases(240, ticks, { seed, now: NOW })) {
        const v = verdict(c.value);
        if (!v.code || !c.codes.includes(v.code as never) || v.rejections !== 1) return false;
        if (c.field && v.field !== c.field) return false;
      }
      return true;
    }),
    { numRuns: 40 },
  );
});

test('both sample kinds are faked and the value defects cover many fields', () => {
  const cases = fuzzCases(6000, ticks, { seed: 9, now: NOW });
  assert.ok(cases.some((c) => c.sampleKind === 'host') && cases.some((c) => c.sampleKind === 'vm') && cases.some((c) => c.sampleKind === 'tick'));
  // A bad sample inside a tick hits the host's as well as VMs' samples, on many fields.
  const inTick = cases.filter((c) => c.kind === 'tick-bad-sample');
  assert.ok(inTick.some((c) => c.stored!.host.length === 0) && inTick.some((c) => c.stored!.host.length === 1));
  assert.ok(new Set(inTick.map((c) => c.field)).size >= 8);
  const fields = new Set(cases.filter((c) => c.kind === 'huge' || c.kind === 'nan' || c.kind === 'negative').map((c) => c.field));
  for (const f of ['cpuUsedCores', 'vcpus', 'cpuCapacityCores', 'memUsedBytes', 'memTotalBytes', 'diskReadBps', 'netTxBps', 'vcpuDelayPct', 'cpuStealPct', 'ts']) {
    assert.ok(fields.has(f), `a value defect hits ${f}`);
  }
});

test('the same seed gives the same bytes; another seed other bytes', () => {
  const a = fuzzCases(500, ticks, { seed: 3, now: NOW });
  const b = fuzzCases(500, ticks, { seed: 3, now: NOW });
  const c = fuzzCases(500, ticks, { seed: 4, now: NOW });
  assert.deepEqual(a.map((x) => x.value), b.map((x) => x.value));
  assert.notDeepEqual(a.map((x) => x.value), c.map((x) => x.value));
});

test('traffic: valid samples (some repeated, out of order) all pass, bad ones are keyed and all fail', () => {
  const t = fuzzTraffic(ticks, { seed: 2, now: NOW, badCount: 1200, repeatShare: 0.2 });
  const bad = t.messages.filter((m) => m.bad);
  const good = t.messages.filter((m) => !m.bad);
  assert.equal(bad.length, 1200);
  assert.equal(t.bad.size, 1200);
  for (const m of bad) assert.equal(t.bad.get(m.key), m.bad);
  for (const m of good) assert.deepEqual(verdict(m.value), {}, 'a valid message validates');
  // Every valid sample sent (in a good message, or a good sample of a tick with one bad) is in `valid`.
  const insideBad = [...t.bad.values()].reduce((n, c) => n + (c.stored ? c.stored.vm.length + c.stored.host.length : 0), 0);
  assert.equal(good.reduce((n, m) => n + decodeSamples(m.value).length, 0) + insideBad, t.valid.vm.length + t.valid.host.length);
  assert.ok(good.some((m) => m.sampleKind === 'tick') && good.some((m) => m.sampleKind === 'vm'), 'both forms are on the wire');

  const vmKeys = t.valid.vm;
  const distinct = new Set(vmKeys);
  assert.equal(distinct.size, ticks.length * fleet.vms.length, 'every VM sample of every tick is sent');
  assert.ok(vmKeys.length > distinct.size, 'some are sent twice');

  // Per VM, the order samples are sent in is not time order.
  const seen = new Map<string, number[]>();
  for (const m of good) {
    for (const s of decodeSamples(m.value)) {
      if (s.kind !== 'vm') continue;
      const list = seen.get(s.sample.vmId) ?? [];
      list.push(s.sample.ts);
      seen.set(s.sample.vmId, list);
    }
  }
  const outOfOrder = [...seen.values()].filter((ts) => ts.some((x, i) => i > 0 && x < ts[i - 1]!)).length;
  assert.equal(outOfOrder, seen.size, 'every VM series arrives out of time order');

  // Bad messages are spread through the stream, not bunched at one end.
  const firstHalfBad = t.messages.slice(0, t.messages.length / 2).filter((m) => m.bad).length;
  assert.ok(firstHalfBad > 400 && firstHalfBad < 800, `bad messages in the first half: ${firstHalfBad}`);
});
