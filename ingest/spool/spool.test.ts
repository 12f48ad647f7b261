import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { NovaError, type BusProducer, type OutgoingMessage } from '../../core/index.ts';
import { logSink, rejection } from '../../test/support/capture.ts';
import { classifySendError, CodedProducer, encodeRecord, parseSegment, readProgress, SpoolingProducer, writeProgress, type SpoolingProducerOptions } from './index.ts';

// kafkajs is CommonJS: its error classes come off the default export.
const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'novacron-spool-'));
  dirs.push(d);
  return d;
}

/** kafkajs's own final error when no broker answers (the shape its producer really throws). */
function unreachable(): Error {
  return new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1', code: 'ECONNREFUSED' }), { retryCount: 5, retryTime: 3000 });
}

/**
 * A broker stand-in: `up` decides whether sends (and connects) succeed; every acknowledged
 * message is recorded in arrival order. Sends take a tick, so drains and new sends interleave.
 */
class FakeKafka {
  up = false;
  connects = 0;
  readonly got: { topic: string; key: string | null; value: string; headers?: Record<string, string> }[] = [];
  connect = async (): Promise<BusProducer> => {
    this.connects++;
    await sleep(1);
    if (!this.up) throw new NovaError('KAFKA_UNREACHABLE', 'cannot reach Kafka (test)', { retriable: true });
    return {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        await sleep(1);
        if (!this.up) throw unreachable();
        for (const m of messages) this.got.push({ topic, key: m.key, value: m.value.toString(), ...(m.headers ? { headers: m.headers } : {}) });
      },
      close: async () => undefined,
    };
  };
}

const msg = (key: string, i: number): OutgoingMessage => ({ key, value: Buffer.from(`${key}:${i}`) });
const segments = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg'));

function producer(dir: string, kafka: FakeKafka, over: Partial<SpoolingProducerOptions> = {}) {
  const { logger, lines } = logSink();
  const p = new SpoolingProducer({ connect: kafka.connect, dir, maxBytes: 16 * 1024 * 1024, log: logger, initialBackoffMs: 5, maxBackoffMs: 20, ...over });
  return { p, lines };
}

describe('spool record format', () => {
  test('a record round-trips: null key, headers, empty and binary values, non-ASCII topic', () => {
    const records = [
      { topic: 't.samples.vm', message: { key: 'host-001', value: Buffer.from([0, 1, 2, 255]) } },
      { topic: 'tö', message: { key: null, value: Buffer.alloc(0), headers: { a: '1', 'ü': 'x'.repeat(300) } } },
    ];
    const file = Buffer.concat([Buffer.from('NCSPOOL1'), ...records.map(encodeRecord)]);
    const parsed = parseSegment(file);
    assert.equal(parsed.problem, undefined);
    assert.equal(parsed.goodBytes, file.length);
    assert.deepEqual(parsed.records, records);
  });

  test('a flipped byte is caught by the checksum, and parsing stops before it', () => {
    const a = encodeRecord({ topic: 't', message: { key: 'k', value: Buffer.from('first') } });
    const b = encodeRecord({ topic: 't', message: { key: 'k', value: Buffer.from('second') } });
    const file = Buffer.concat([Buffer.from('NCSPOOL1'), a, b]);
    file.writeUInt8(file.readUInt8(file.length - 2) ^ 0xff, file.length - 2);
    const parsed = parseSegment(file);
    assert.match(parsed.problem ?? '', /checksum/);
    assert.equal(parsed.records.length, 1);
    assert.equal(parsed.goodBytes, 8 + a.length);
  });
});

describe('classifySendError', () => {
  test('kafkajs connection failures and retriable protocol errors are "unreachable"; refused records "rejected"', () => {
    assert.equal(classifySendError(unreachable()), 'unreachable');
    assert.equal(classifySendError(new NovaError('KAFKA_UNREACHABLE', 'x', { retriable: true })), 'unreachable');
    const unknownTopic = new KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);
    assert.equal(classifySendError(new KafkaJSNumberOfRetriesExceeded(unknownTopic, { retryCount: 5, retryTime: 1 })), 'unreachable');
    const tooLarge = new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
    assert.equal(classifySendError(tooLarge), 'rejected');
    assert.equal(classifySendError(new TypeError('bug')), 'fatal');
  });

  test('CodedProducer turns a raw kafkajs failure into KAFKA_UNREACHABLE with a next step', async () => {
    const coded = new CodedProducer({ send: async () => { throw unreachable(); }, close: async () => undefined });
    const err = await rejection(coded.send('t', [msg('k', 1)]));
    assert.equal(err.code, 'KAFKA_UNREACHABLE');
    assert.equal(err.retriable, true);
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.message, /stack up/);
  });
});

describe('SpoolingProducer (real temp dirs)', () => {
  test('Kafka down from the start: sends resolve, go to disk, and drain in send order once it is back; the dir ends empty', async () => {
    const dir = tempDir();
    const kafka = new FakeKafka();
    const { p } = producer(dir, kafka, { segmentBytes: 2048 });
    const keys = ['host-001', 'host-002', 'host-003'];
    const sent: string[] = [];
    let i = 0;
    // Phase 1: no broker at all (connect fails).
    for (; i < 60; i++) {
      const batch = keys.map((k) => msg(k, i));
      await p.send(i % 2 ? 'vm' : 'host', batch);
      sent.push(...batch.map((m) => m.value.toString()));
    }
    assert.equal(kafka.got.length, 0);
    assert.equal(p.stats.spooled, 180);
    assert.ok(segments(dir).length > 1, 'small segments roll');
    assert.notEqual(p.stats.state, 'direct');
    // Phase 2: the broker comes back while we keep sending: new sends queue behind the spool.
    kafka.up = true;
    for (; i < 120; i++) {
      const batch = keys.map((k) => msg(k, i));
      await p.send(i % 2 ? 'vm' : 'host', batch);
      sent.push(...batch.map((m) => m.value.toString()));
    }
    assert.equal(await p.flush(10_000), true);
    assert.deepEqual(kafka.got.map((g) => g.value), sent, 'every message, once, in the order sent');
    assert.equal(p.stats.state, 'direct');
    assert.equal(p.stats.pending, 0);
    assert.equal(p.stats.drained, p.stats.spooled);
    assert.equal(p.stats.dropped, 0);
    assert.deepEqual(segments(dir), []);
    // Direct again: the next send reaches Kafka without touching the disk.
    const before = p.stats.spooled;
    await p.send('vm', [msg('host-009', 0)]);
    assert.equal(p.stats.spooled, before);
    assert.equal(kafka.got.at(-1)?.value, 'host-009:0');
    assert.deepEqual(await p.closeWithin(1000), { left: 0, dir });
  });

  test('Kafka going away mid-stream: the failed send and all later ones spool; nothing lost or reordered', async () => {
    const dir = tempDir();
    const kafka = new FakeKafka();
    kafka.up = true;
    const { p, lines } = producer(dir, kafka);
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 10) kafka.up = false;
      if (i === 20) kafka.up = true;
      const m = msg('h', i);
      await p.send('vm', [m]);
      sent.push(m.value.toString());
    }
    await p.flush(10_000);
    assert.deepEqual(kafka.got.map((g) => g.value), sent);
    assert.ok(p.stats.spooled >= 10);
    assert.ok(lines.some((l) => /Kafka unreachable; spooling to disk/.test(l)), 'the switch to the spool is logged');
    await p.close();
  });

  test('the size bound drops the oldest segments, counts what it dropped, and keeps the newest in order', async () => {
    const dir = tempDir();
    const kafka = new FakeKafka();
    const maxBytes = 64 * 1024;
    const { p, lines } = producer(dir, kafka, { maxBytes, segmentBytes: 8 * 1024 });
    const value = 'x'.repeat(200);
    const total = 1000; // ~220 KB of records into a 64 KiB spool
    for (let i = 0; i < total; i++) await p.send('vm', [{ key: 'h', value: Buffer.from(`${i}:${value}`) }]);
    const s = p.stats;
    assert.ok(s.bytesOnDisk <= maxBytes, `${s.bytesOnDisk} bytes on disk > bound ${maxBytes}`);
    assert.ok(s.dropped > 0);
    assert.equal(s.dropped + s.pending, total, 'every record is either still spooled or counted as dropped');
    assert.ok(lines.some((l) => /dropped its oldest segment/.test(l)));
    kafka.up = true;
    await p.flush(10_000);
    const got = kafka.got.map((g) => Number(g.value.split(':')[0]));
    assert.equal(got.length, s.pending);
    // What survives is the newest records, contiguous and in order.
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => total - got.length + i));
    await p.close();
  });

  test('records left by a previous run are found and drained first, before new sends', async () => {
    const dir = tempDir();
    const down = new FakeKafka();
    const first = producer(dir, down).p;
    for (let i = 0; i < 25; i++) await first.send('vm', [msg('h', i)]);
    const closed = await first.closeWithin(50);
    assert.deepEqual(closed, { left: 25, dir });
    assert.ok(segments(dir).length > 0);

    const kafka = new FakeKafka();
    kafka.up = true;
    const second = producer(dir, kafka).p;
    assert.equal(second.stats.pending, 25);
    await second.send('vm', [msg('h', 25)]);
    await second.flush(10_000);
    assert.deepEqual(kafka.got.map((g) => g.value), Array.from({ length: 26 }, (_, i) => `h:${i}`));
    assert.equal(second.stats.drained, 26);
    assert.deepEqual(segments(dir), []);
    await second.close();
  });

  test('a torn tail after a crash is truncated with a warning, the records before it are sent, and nothing throws', async () => {
    const dir = tempDir();
    const first = producer(dir, new FakeKafka(), { segmentBytes: 1 << 20 }).p;
    for (let i = 0; i < 10; i++) await first.send('vm', [msg('h', i)]);
    await first.closeWithin(0);
    const [seg] = segments(dir);
    const file = join(dir, seg!);
    // A crash mid-write: half of an 11th record.
    const torn = encodeRecord({ topic: 'vm', message: msg('h', 10) });
    appendFileSync(file, torn.subarray(0, Math.floor(torn.length / 2)));
    // And a file torn before its header was even complete, plus a foreign file the spool must leave alone.
    writeFileSync(join(dir, '000000000099.seg'), Buffer.from('NCSP'));
    writeFileSync(join(dir, 'README'), 'not a segment');

    const kafka = new FakeKafka();
    kafka.up = true;
    const { p, lines } = producer(dir, kafka);
    assert.equal(p.stats.pending, 10);
    assert.ok(lines.some((l) => /truncated a segment torn by a crash/.test(l)), 'the truncation is logged');
    assert.ok(lines.some((l) => /unreadable segment set aside/.test(l)));
    await p.flush(10_000);
    assert.deepEqual(kafka.got.map((g) => g.value), Array.from({ length: 10 }, (_, i) => `h:${i}`));
    assert.deepEqual(segments(dir), []);
    assert.ok(readdirSync(dir).includes('000000000099.seg.corrupt'));
    assert.equal(readFileSync(join(dir, 'README'), 'utf8'), 'not a segment');
    await p.close();
  });

  test('a tail cut inside a record header (a crash right after a write started) is truncated too', async () => {
    const dir = tempDir();
    const first = producer(dir, new FakeKafka()).p;
    for (let i = 0; i < 3; i++) await first.send('vm', [msg('h', i)]);
    await first.closeWithin(0);
    const file = join(dir, segments(dir).sort().at(-1)!);
    const full = readFileSync(file).length;
    truncateSync(file, full - 3);
    const kafka = new FakeKafka();
    kafka.up = true;
    const { p } = producer(dir, kafka);
    assert.equal(p.stats.pending, 2);
    await p.flush(10_000);
    assert.deepEqual(kafka.got.map((g) => g.value), ['h:0', 'h:1']);
    await p.close();
  });

  test('one spool, one writer: a second producer on the same dir is refused with SPOOL_LOCKED', async () => {
    const dir = tempDir();
    const { p } = producer(dir, new FakeKafka());
    assert.throws(() => producer(dir, new FakeKafka()), (err: unknown) => err instanceof NovaError && err.code === 'SPOOL_LOCKED');
    await p.closeWithin(0);
    const again = producer(dir, new FakeKafka()).p; // released on close
    await again.closeWithin(0);
  });

  test('records the broker refuses for good are not spooled: the caller gets KAFKA_RECORD_REJECTED', async () => {
    const dir = tempDir();
    const tooLarge = new KafkaJSProtocolError({ message: 'The request included a message larger than the max message size the server will accept', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as never);
    const { logger } = logSink();
    const p = new SpoolingProducer({ connect: async () => ({ send: async () => { throw tooLarge; }, close: async () => undefined }), dir, maxBytes: 1 << 20, log: logger });
    const err = await rejection(p.send('vm', [msg('h', 0)]));
    assert.equal(err.code, 'KAFKA_RECORD_REJECTED');
    assert.equal(p.stats.spooled, 0);
    await p.close();
  });

  test('a failure retrying cannot fix (not "unreachable") is not spooled: the caller gets KAFKA_SEND_FAILED; sends after close are refused', async () => {
    const dir = tempDir();
    const denied = new KafkaJSProtocolError({ message: 'Not authorized to access topics: [Topic authorization failed]', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as never);
    const { logger } = logSink();
    const p = new SpoolingProducer({ connect: async () => ({ send: async () => { throw denied; }, close: async () => undefined }), dir, maxBytes: 1 << 20, log: logger });
    const err = await rejection(p.send('vm', [msg('h', 0)]));
    assert.equal(err.code, 'KAFKA_SEND_FAILED');
    assert.match(err.message, /Not authorized/);
    assert.equal(p.stats.spooled, 0);
    await p.close();
    assert.equal((await rejection(p.send('vm', [msg('h', 1)]))).code, 'SPOOL_CLOSED');
  });

  test('close gives up after its timeout while Kafka is down, and says how many records stay on disk', async () => {
    const dir = tempDir();
    const { p } = producer(dir, new FakeKafka());
    for (let i = 0; i < 7; i++) await p.send('vm', [msg('h', i)]);
    const t0 = Date.now();
    const r = await p.closeWithin(300);
    assert.ok(Date.now() - t0 < 3000);
    assert.deepEqual(r, { left: 7, dir });
  });
});

describe('run progress file', () => {
  test('written atomically and read back; a damaged file is a PROGRESS_UNREADABLE error', () => {
    const dir = tempDir();
    const file = join(dir, 'sub', 'progress.json');
    assert.equal(readProgress(file), undefined);
    writeProgress(file, { fleet: 'synthetic hosts=3', stepMs: 300_000, lastStep: 41, lastTs: 1_700_000_100_000 });
    const p = readProgress(file)!;
    assert.equal(p.lastStep, 41);
    assert.equal(p.fleet, 'synthetic hosts=3');
    writeFileSync(file, '{"version":1');
    assert.throws(() => readProgress(file), (err: unknown) => err instanceof NovaError && err.code === 'PROGRESS_UNREADABLE');
  });
});

describe('spool folder problems', () => {
  test('a spool folder that cannot be created is a SPOOL_UNUSABLE error naming it, not a raw fs error', () => {
    const dir = tempDir();
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'x');
    const { logger } = logSink();
    assert.throws(
      () => new SpoolingProducer({ connect: new FakeKafka().connect, dir: join(blocker, 'spool'), maxBytes: 1 << 20, log: logger }),
      (err: unknown) => err instanceof NovaError && err.code === 'SPOOL_UNUSABLE' && err.message.includes(blocker),
    );
  });
});
