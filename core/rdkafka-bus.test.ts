import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NovaError } from './errors.ts';
import { createLogger } from './logger.ts';
import { groupByPartition, loadRdKafka, MAX_MESSAGE_BYTES, RdKafkaBus, rdkafkaLogLevel, recordBytes, toHeaders, type RdKafkaModule } from './rdkafka-bus.ts';

const log = createLogger('test', 'silent');

describe('rdkafka adapter helpers', () => {
  it('a missing node-rdkafka is KAFKA_CLIENT_MISSING with the way to build it', () => {
    const err = (() => {
      try {
        loadRdKafka(() => {
          throw new Error("Cannot find module 'node-rdkafka'");
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof NovaError);
    assert.equal(err.code, 'KAFKA_CLIENT_MISSING');
    assert.match(err.message, /npm_config_nodedir=.* npm i node-rdkafka@3/);
    assert.match(err.message, /NOVACRON_KAFKA_CLIENT=kafkajs/);
  });

  it('a codec the librdkafka build lacks is refused when the bus is built, naming what it has', () => {
    const fake = { features: ['gzip', 'lz4'], librdkafkaVersion: '2.12.0' } as unknown as RdKafkaModule;
    assert.throws(() => new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'zstd' }, log, fake), (e: NovaError) => e.code === 'KAFKA_COMPRESSION_UNSUPPORTED' && /gzip, lz4/.test(e.message));
    assert.doesNotThrow(() => new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake));
    assert.doesNotThrow(() => new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'none' }, log, fake));
  });

  it('an admin call no broker answered is KAFKA_UNREACHABLE and retriable (create and delete alike); a broker refusal stays KAFKA_ADMIN_FAILED (at librdkafka\'s AdminClient boundary; the real no-broker create runs in test/integration/spool.test.ts)', async () => {
    // The AdminClient replaced at librdkafka's boundary: it answers every call with the given error.
    const failingWith = (code: number, message: string) =>
      ({
        features: ['lz4'],
        librdkafkaVersion: '2.12.0',
        AdminClient: {
          create: () => ({
            createTopic: (_t: unknown, _ms: number, cb: (err: unknown) => void) => cb({ code, message }),
            deleteTopic: (_t: string, _ms: number, cb: (err: unknown) => void) => cb({ code, message }),
            disconnect: () => undefined,
          }),
        },
      }) as unknown as RdKafkaModule;
    const bus = (code: number, message: string) => new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, failingWith(code, message));
    const timedOut = bus(-185, 'Local: Timed out');
    const unreachable = (what: RegExp) => (e: NovaError) => e.code === 'KAFKA_UNREACHABLE' && e.retriable === true && what.test(e.message) && /stack up/.test(e.message);
    await assert.rejects(timedOut.ensureTopics([{ topic: 't1', partitions: 1 }]), unreachable(/create topic t1/));
    await assert.rejects(timedOut.deleteTopics(['t1']), unreachable(/delete topic t1/));
    const refused = bus(44, 'Broker: Policy violation');
    await assert.rejects(refused.ensureTopics([{ topic: 't1', partitions: 1 }]), (e: NovaError) => e.code === 'KAFKA_ADMIN_FAILED' && /Policy violation/.test(e.message));
    await assert.rejects(refused.deleteTopics(['t1']), (e: NovaError) => e.code === 'KAFKA_ADMIN_FAILED' && /delete topic t1/.test(e.message));
  });

  it('librdkafka syslog severities map to pino levels', () => {
    assert.deepEqual([0, 3, 4, 5, 6, 7].map(rdkafkaLogLevel), ['error', 'error', 'warn', 'info', 'info', 'debug']);
  });

  it('headers arrive as a string map whatever form librdkafka gives them in', () => {
    assert.deepEqual(toHeaders([{ a: Buffer.from('1') }, { b: 'two' }]), { a: '1', b: 'two' });
    assert.deepEqual(toHeaders(undefined), {});
  });

  it('a consume round is split per partition, each keeping fetch order', () => {
    const m = (topic: string, partition: number, offset: number) => ({ topic, partition, offset, key: Buffer.from(`k${offset}`), value: Buffer.from('v'), timestamp: 5 });
    const batches = groupByPartition([m('t', 0, 10), m('t', 1, 3), m('t', 0, 11), m('u', 0, 7), m('t', 1, 4)]);
    assert.deepEqual(
      batches.map((b) => [b.topic, b.partition, b.messages.map((x) => x.offset)]),
      [['t', 0, ['10', '11']], ['t', 1, ['3', '4']], ['u', 0, ['7']]],
    );
    assert.equal(batches[0]!.messages[0]!.key, 'k10');
    assert.equal(groupByPartition([{ topic: 't', partition: 0, offset: 1, value: null }])[0]!.messages[0]!.key, null);
  });

  it('a record is measured as librdkafka counts it against message.max.bytes', () => {
    assert.equal(recordBytes({ key: 'ab', value: Buffer.alloc(10), headers: { h: 'xyz' } }), 2 + 10 + 1 + 3 + 2);
    assert.equal(recordBytes({ key: null, value: Buffer.alloc(MAX_MESSAGE_BYTES) }), MAX_MESSAGE_BYTES);
  });
});

// The consumer's ownership bookkeeping, driven deterministically through a stand-in for
// node-rdkafka's KafkaConsumer (the real one is exercised in test/integration/bus-contract.test.ts).
type Tp = { topic: string; partition: number; offset?: number };
class FakeConsumer {
  static last: FakeConsumer;
  readonly calls: string[] = [];
  readonly queue: { topic: string; partition: number; offset: number; value: Buffer }[] = [];
  commitFailures: number[] = [];
  private wait = 0;
  constructor(readonly conf: Record<string, unknown>) {
    FakeConsumer.last = this;
  }
  rebalance(code: number, partitions: Tp[]): void {
    (this.conf.rebalance_cb as (err: { code: number }, p: Tp[]) => void)({ code }, partitions);
  }
  connect(_o: unknown, cb: (err: null) => void) { cb(null); }
  disconnect(cb: () => void) { cb(); }
  on() { return this; }
  subscribe() {}
  setDefaultConsumeTimeout(ms: number) { this.wait = ms; }
  consume(n: number, cb: (err: null, m: unknown[]) => void) {
    const out = this.queue.splice(0, n);
    setTimeout(() => cb(null, out), out.length > 0 ? 0 : Math.min(this.wait, 10));
  }
  rebalanceProtocol() { return 'COOPERATIVE'; }
  incrementalAssign(p: Tp[]) { this.calls.push(`assign ${p.map((x) => x.partition).join(',')}`); }
  incrementalUnassign(p: Tp[]) { this.calls.push(`unassign ${p.map((x) => x.partition).join(',')}`); }
  assignments() { return []; }
  syncCommits = 0;
  commitSync(offsets: Tp[]) {
    this.syncCommits++;
    const code = this.commitFailures.shift();
    if (code !== undefined) throw Object.assign(new Error('Broker: Specified group generation id is not valid'), { code });
    this.calls.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`);
  }
  /** As librdkafka's: sent in the background, the answer through offset_commit_cb (failures from commitFailures too). */
  commit(offsets: Tp[]) {
    const code = this.commitFailures.shift();
    setImmediate(() => {
      if (code === undefined) this.calls.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(',')}`);
      const err = code === undefined ? null : Object.assign(new Error('Broker: Specified group generation id is not valid'), { code });
      (this.conf.offset_commit_cb as (e: unknown, o: Tp[]) => void)(err, offsets);
    });
  }
  seek(p: Tp, _t: number, cb: (err: null) => void) {
    this.calls.push(`seek ${p.partition}@${p.offset}`);
    cb(null);
  }
}
const fake = { KafkaConsumer: FakeConsumer, features: ['lz4'], librdkafkaVersion: 'fake' } as unknown as RdKafkaModule;
const ASSIGN = -175;
const REVOKE = -174;
const msg = (partition: number, offset: number) => ({ topic: 't', partition, offset, value: Buffer.from('v') });
const tp = (partition: number) => ({ topic: 't', partition });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await sleep(10);
  assert.ok(check(), what);
}

describe('rdkafka consumer: partition ownership across rebalances', () => {
  it('a revoke of the partition in hand: heartbeat() says so, the batch goes back uncommitted, then the partition is released; the others go on', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    const handled: string[] = [];
    let beatError: unknown;
    await consumer.start(async (batch, heartbeat) => {
      handled.push(`${batch.partition}:${batch.messages.map((m) => m.offset).join(',')}`);
      // Holds partition 0's batch (a sink retrying), beating, until the beat says it is leaving.
      while (batch.partition === 0) {
        try {
          await heartbeat();
        } catch (err) {
          beatError = err;
          fc.calls.push('handler gave up');
          throw err;
        }
        await sleep(5);
      }
    });
    fc.rebalance(ASSIGN, [tp(0), tp(1)]);
    fc.queue.push(msg(0, 5), msg(1, 9), msg(0, 6));
    // The partitions are handled side by side: partition 1's batch is not held up behind 0's.
    await until(() => fc.calls.includes('commit 1@10'), 'partition 1 committed while 0 is in hand');
    assert.deepEqual(handled, ['0:5,6', '1:9']);
    fc.rebalance(REVOKE, [tp(0)]);
    await until(() => fc.calls.includes('unassign 0'), 'partition 0 released');
    await consumer.close();
    assert.ok(beatError instanceof NovaError && beatError.code === 'KAFKA_REBALANCING', String(beatError));
    assert.deepEqual(fc.calls, ['assign 0,1', 'commit 1@10', 'handler gave up', 'unassign 0'], 'no commit and no seek for the partition that left; released after its batch');
  });

  it('a revoke of another partition is released at once, and its fetched batch is never handed out', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await consumer.start(async (batch) => {
      handled.push(`${batch.partition}:${batch.messages.map((m) => m.offset).join(',')}`);
      if (batch.partition === 0) await held;
    });
    fc.rebalance(ASSIGN, [tp(0), tp(1)]);
    fc.queue.push(msg(0, 5));
    await until(() => handled.length === 1, 'partition 0 in hand');
    // Fetched while 0 is in hand: the next round starts only when every batch of this one is done.
    fc.queue.push(msg(1, 9), msg(0, 6));
    await sleep(50);
    fc.rebalance(REVOKE, [tp(1)]);
    assert.deepEqual(fc.calls, ['assign 0,1', 'unassign 1'], 'partition 1 released while 0 is still in hand');
    release();
    await until(() => fc.calls.includes('commit 0@7'), 'partition 0 committed, both batches in order');
    await sleep(50);
    await consumer.close();
    assert.deepEqual(handled, ['0:5', '0:6']);
  });

  it('one batch per partition at a time: a partition\'s next batch waits for its previous one, the other partitions do not', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    const running = new Set<number>();
    let most = 0;
    const order: string[] = [];
    await consumer.start(async (batch) => {
      assert.ok(!running.has(batch.partition), `partition ${batch.partition} handled twice at once`);
      running.add(batch.partition);
      most = Math.max(most, running.size);
      order.push(`${batch.partition}:${batch.messages[0]!.offset}`);
      await sleep(batch.partition === 0 ? 30 : 5);
      running.delete(batch.partition);
    });
    fc.rebalance(ASSIGN, [tp(0), tp(1), tp(2)]);
    fc.queue.push(msg(0, 1), msg(1, 1), msg(2, 1));
    await until(() => order.length === 3, 'first round');
    fc.queue.push(msg(0, 2), msg(1, 2));
    await until(() => fc.calls.includes('commit 0@3') && fc.calls.includes('commit 1@3'), 'second round committed');
    await consumer.close();
    assert.equal(most, 3, 'the three partitions were in hand together');
    assert.deepEqual(order.filter((l) => l.startsWith('0:')), ['0:1', '0:2']);
  });

  it('a commit refused mid-rebalance (old generation) is made again on the next round, the batch not handed out twice', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    fc.commitFailures = [22];
    let calls = 0;
    await consumer.start(async () => {
      calls++;
    });
    fc.rebalance(ASSIGN, [tp(0)]);
    fc.queue.push(msg(0, 1));
    await until(() => fc.calls.includes('commit 0@2'), 'committed on retry');
    await consumer.close();
    assert.equal(calls, 1);
  });

  it('after each batch the commit is sent without blocking; one still unanswered at close is made there, waiting', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    await consumer.start(async () => undefined);
    fc.rebalance(ASSIGN, [tp(0)]);
    fc.queue.push(msg(0, 1));
    await until(() => fc.calls.includes('commit 0@2'), 'committed');
    assert.equal(fc.syncCommits, 0, 'no commitSync on the way');
    // An answer that never comes (broker slow): close commits it, and waits for that.
    const silent = fc.commit.bind(fc);
    fc.commit = () => undefined;
    fc.queue.push(msg(0, 2));
    await sleep(50);
    assert.ok(!fc.calls.includes('commit 0@3'));
    fc.commit = silent;
    await consumer.close();
    assert.equal(fc.syncCommits, 1);
    assert.ok(fc.calls.includes('commit 0@3'), 'committed at close');
  });

  it('a handler that throws: nothing committed, the partition rewound to the batch start', async () => {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'] });
    const fc = FakeConsumer.last;
    await consumer.start(async () => {
      throw new Error('sink down');
    });
    fc.rebalance(ASSIGN, [tp(0)]);
    fc.queue.push(msg(0, 3), msg(0, 4));
    await until(() => fc.calls.includes('seek 0@3'), 'rewound');
    await consumer.close();
    assert.ok(!fc.calls.some((c) => c.startsWith('commit')));
  });
});

describe('rdkafka consumer: paced rounds (minRoundMs)', () => {
  // Two messages 40 ms apart after a first round: paced, they wait for the round that is due
  // 300 ms after the first and go out together; unpaced, each goes out as it comes.
  async function rounds(minRoundMs: number): Promise<{ handed: string[]; gapMs: number }> {
    const consumer = await new RdKafkaBus({ brokers: ['x:1'], clientId: 'c', compression: 'lz4' }, log, fake).consumer({ groupId: 'g', topics: ['t'], minRoundMs });
    const fc = FakeConsumer.last;
    const handed: { at: number; what: string }[] = [];
    await consumer.start(async (batch) => {
      handed.push({ at: performance.now(), what: batch.messages.map((m) => m.offset).join(',') });
    });
    fc.rebalance(ASSIGN, [tp(0)]);
    fc.queue.push(msg(0, 1));
    await until(() => handed.length === 1, 'the first round');
    await sleep(20);
    fc.queue.push(msg(0, 2));
    await sleep(40);
    fc.queue.push(msg(0, 3));
    await until(() => handed.map((h) => h.what).join(' ').includes('3'), 'offset 3 handed out');
    await consumer.close();
    return { handed: handed.map((h) => h.what), gapMs: handed[1]!.at - handed[0]!.at };
  }

  it('paced: the next round waits until it is due and takes everything that came meanwhile', async () => {
    const { handed, gapMs } = await rounds(300);
    assert.deepEqual(handed, ['1', '2,3']);
    assert.ok(gapMs >= 290, `second round ${gapMs.toFixed(0)} ms after the first`);
  });

  it('unpaced (0): each message goes out as it comes', async () => {
    const { handed, gapMs } = await rounds(0);
    assert.deepEqual(handed, ['1', '2', '3']);
    assert.ok(gapMs < 200, `second round ${gapMs.toFixed(0)} ms after the first`);
  });
});
