import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { counterRate, deviceRates } from './rates.ts';

describe('counterRate', () => {
  it('is the increase per second over the real elapsed time', () => {
    assert.equal(counterRate(1000, 4000, 1.5), 2000);
  });
  it('has no value without a baseline, after a reset, or without elapsed time', () => {
    assert.equal(counterRate(undefined, 10, 1), undefined);
    assert.equal(counterRate(10, undefined, 1), undefined);
    assert.equal(counterRate(500, 20, 1), undefined);
    assert.equal(counterRate(1, 2, 0), undefined);
    assert.equal(counterRate(1, 2, -1), undefined);
  });
  it('over any sequence of reads with resets, every rate is either absent or >= 0 and exact', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ step: fc.nat({ max: 10 ** 9 }), reset: fc.boolean(), seconds: fc.double({ min: 0.001, max: 120, noNaN: true }) }), { minLength: 2, maxLength: 50 }),
      (reads) => {
        let counter = 0;
        let previous: number | undefined;
        for (const r of reads) {
          counter = r.reset ? r.step : counter + r.step;
          const rate = counterRate(previous, counter, r.seconds);
          if (rate !== undefined) {
            assert.ok(rate >= 0);
            assert.ok(Math.abs(rate * r.seconds - (counter - previous!)) <= 1e-6 * Math.max(1, counter));
          } else assert.ok(previous === undefined || counter < previous);
          previous = counter;
        }
      },
    ));
  });
});

describe('deviceRates', () => {
  const m = (entries: [string, number, number][]) => new Map(entries.map(([n, i, o]) => [n, { inBytes: i, outBytes: o }]));

  it('sums devices present in both reads; a new, a reset or a gone device adds nothing', () => {
    const before = m([['eth0', 1000, 2000], ['eth1', 500, 500], ['gone', 9e9, 9e9]]);
    const after = m([['eth0', 3000, 2400], ['eth1', 100, 900], ['new', 7e9, 7e9]]);
    assert.deepEqual(deviceRates(before, after, 2), { inPerSecond: 1000, outPerSecond: 200, restarted: 2 });
  });
  it('leaves out what the filter rejects', () => {
    const before = m([['lo', 0, 0], ['eth0', 0, 0]]);
    const after = m([['lo', 1e6, 1e6], ['eth0', 10, 20]]);
    assert.deepEqual(deviceRates(before, after, 1, (n) => n !== 'lo'), { inPerSecond: 10, outPerSecond: 20, restarted: 0 });
  });
});
