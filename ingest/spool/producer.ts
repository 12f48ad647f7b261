import { setTimeout as sleep } from 'node:timers/promises';
import { NovaError, type BusProducer, type Logger, type OutgoingMessage } from '../../core/index.ts';
import { classifySendError, rootMessage, sendError } from './errors.ts';
import type { SpoolRecord } from './record.ts';
import { SpoolStore } from './store.ts';

/** `direct`: sends go to Kafka; `spooling`: Kafka is away, sends go to disk; `draining`: the spool is being resent. */
export type SpoolState = 'direct' | 'spooling' | 'draining';

export interface SpoolStats {
  state: SpoolState;
  /** Records written to the spool since start. */
  spooled: number;
  /** Spooled records (from this run or a previous one) Kafka has acknowledged since start. */
  drained: number;
  /** Records lost to the size bound, to a refusal by the broker, or to damage, since start. */
  dropped: number;
  /** Records on disk waiting for Kafka. */
  pending: number;
  bytesOnDisk: number;
}

export interface SpoolingProducerOptions {
  /** Makes a connected producer (and e.g. creates the topics); called again after every failure. */
  connect: () => Promise<BusProducer>;
  /** Folder of this producer's segments (one writer at a time: it is locked). */
  dir: string;
  /** Bound on the spool's size on disk; when full the oldest segment is dropped. */
  maxBytes: number;
  log: Logger;
  segmentBytes?: number;
  /** Most bytes of keys + values per resend (one record batch must stay under message.max.bytes). */
  maxBatchBytes?: number;
  /** Backoff between drain attempts: doubles from `initialBackoffMs` up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A BusProducer that outlives the broker: when Kafka cannot be reached, `send` appends the
 * messages to segment files on disk and resolves; a background loop resends them, oldest first,
 * once Kafka is back. While anything is spooled, new sends queue behind it, so the order of sends
 * the caller awaited one after the other is the order Kafka gets them (per key, per topic).
 * Delivery is at least once: a crash mid-drain resends at most the segment being drained.
 */
export class SpoolingProducer implements BusProducer {
  private readonly store: SpoolStore;
  private inner: BusProducer | undefined;
  private connecting: Promise<BusProducer> | undefined;
  private drainLoop: Promise<void> | undefined;
  private wake: AbortController = new AbortController();
  private closing = false;
  private stopped = false;
  private state: SpoolState = 'direct';
  private spooled = 0;
  private drained = 0;
  private rejected = 0;
  private readonly maxBatchBytes: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly opts: SpoolingProducerOptions) {
    // Eight segments per bound at least: dropping one then loses an eighth of the spool, not all of it.
    const segmentBytes = opts.segmentBytes ?? Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(opts.maxBytes / 8)));
    this.store = SpoolStore.open({ dir: opts.dir, maxBytes: opts.maxBytes, segmentBytes, log: opts.log });
    this.maxBatchBytes = opts.maxBatchBytes ?? 768 * 1024;
    this.initialBackoffMs = opts.initialBackoffMs ?? 250;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    if (!this.store.isEmpty()) this.startSpooling();
  }

  get stats(): SpoolStats {
    return {
      state: this.state,
      spooled: this.spooled,
      drained: this.drained,
      dropped: this.store.droppedRecords + this.rejected,
      pending: this.store.pendingRecords,
      bytesOnDisk: this.store.bytes,
    };
  }

  get dir(): string {
    return this.store.dir;
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.stopped) throw new NovaError('SPOOL_CLOSED', 'send after close: the producer is closed; this is a bug in the caller');
    if (messages.length === 0) return;
    if (this.state === 'direct') {
      try {
        const inner = await this.producer();
        await inner.send(topic, messages);
        return;
      } catch (err) {
        // Only "no broker answers" is what the spool is for; refused records or a failure
        // retrying cannot fix (permissions, a bug) are the caller's to see, with a code.
        if (classifySendError(err) !== 'unreachable') throw sendError(err, topic);
        this.opts.log.warn({ topic, err: rootMessage(err) }, 'spool: Kafka unreachable; spooling to disk and resending when it is back');
        this.forgetProducer();
      }
    }
    this.spool(topic, messages);
  }

  /** Waits until the spool is empty or `timeoutMs` passed; true if it emptied. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.wake.abort(); // skip the current backoff: try now
    while (!this.store.isEmpty() && Date.now() < deadline) await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
    return this.store.isEmpty();
  }

  /**
   * Sends what it can of the spool within `timeoutMs`, then stops; what is left stays on disk
   * for the next run (whose producer drains it first).
   */
  async closeWithin(timeoutMs: number): Promise<{ left: number; dir: string }> {
    const deadline = Date.now() + timeoutMs;
    this.closing = true;
    if (!this.store.isEmpty()) await this.flush(timeoutMs);
    this.stopped = true;
    this.wake.abort();
    // An in-flight resend may hang on a dead broker for its whole retry budget: do not wait past the deadline.
    if (this.drainLoop) await Promise.race([this.drainLoop, sleep(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
    const inner = this.inner;
    this.inner = undefined;
    if (inner) await Promise.race([inner.close().catch(() => undefined), sleep(Math.max(1000, deadline - Date.now()), undefined, { ref: false })]);
    const left = this.store.pendingRecords;
    this.store.close();
    if (left > 0) this.opts.log.warn({ dir: this.store.dir, records: left, bytes: this.store.bytes }, 'spool: closed with records still on disk; the next producer on this spool sends them first');
    return { left, dir: this.store.dir };
  }

  async close(): Promise<void> {
    await this.closeWithin(10_000);
  }

  private spool(topic: string, messages: OutgoingMessage[]): void {
    const records: SpoolRecord[] = messages.map((message) => ({ topic, message }));
    this.store.append(records);
    this.spooled += records.length;
    if (this.state === 'direct') this.startSpooling();
  }

  private startSpooling(): void {
    this.state = 'spooling';
    if (!this.drainLoop) {
      this.drainLoop = this.drain().finally(() => {
        this.drainLoop = undefined;
        // A send may have spooled after the loop's last look but before this ran.
        if (!this.store.isEmpty() && !this.stopped) this.startSpooling();
      });
    }
  }

  private async producer(): Promise<BusProducer> {
    if (this.inner) return this.inner;
    // One connection attempt at a time, shared by the drain and direct sends.
    this.connecting ??= this.opts.connect().finally(() => (this.connecting = undefined));
    this.inner = await this.connecting;
    return this.inner;
  }

  /** Drops the current producer so the next attempt reconnects (and re-creates topics). */
  private forgetProducer(): void {
    const inner = this.inner;
    this.inner = undefined;
    void inner?.close().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    let backoff = this.initialBackoffMs;
    while (!this.stopped) {
      if (this.store.isEmpty()) {
        // Checked in the same turn as the switch: the next send goes direct.
        this.state = 'direct';
        return;
      }
      try {
        // Connect before taking the oldest segment: taking it seals the one being appended to,
        // and sealing on every failed attempt would leave a trail of tiny segments.
        const inner = await this.producer();
        if (this.stopped) return;
        const segment = this.store.oldest();
        if (!segment) continue;
        this.state = 'draining';
        await this.resend(inner, segment.info, segment.records);
        if (this.stopped) return;
        if (!segment.info.dropped) this.store.remove(segment.info);
        backoff = this.initialBackoffMs;
      } catch (err) {
        if (this.stopped) return;
        this.state = 'spooling';
        const kind = classifySendError(err);
        const level = kind === 'fatal' ? 'error' : 'warn';
        this.opts.log[level]({ err: rootMessage(err), kind, pending: this.store.pendingRecords, retryInMs: backoff }, kind === 'fatal' ? 'spool: cannot resend to Kafka for a reason retrying may not fix; check the broker and the client\'s permissions' : 'spool: Kafka still unreachable; records stay on disk');
        this.forgetProducer();
        await this.pause(backoff);
        backoff = Math.min(this.maxBackoffMs, backoff * 2);
      }
    }
  }

  /** Resends one segment from where the last attempt stopped, in batches of one topic each. */
  private async resend(inner: BusProducer, info: { acked: number; dropped: boolean }, records: SpoolRecord[]): Promise<void> {
    let i = info.acked;
    while (i < records.length) {
      if (this.stopped || info.dropped) return;
      const topic = records[i]!.topic;
      const batch: OutgoingMessage[] = [];
      let bytes = 0;
      // Consecutive records of one topic, up to the batch size: their order is the spool's order.
      while (i + batch.length < records.length && records[i + batch.length]!.topic === topic) {
        const m = records[i + batch.length]!.message;
        const size = m.value.length + (m.key === null ? 0 : Buffer.byteLength(m.key)) + 16;
        if (batch.length > 0 && bytes + size > this.maxBatchBytes) break;
        batch.push(m);
        bytes += size;
      }
      let refused = false;
      try {
        await inner.send(topic, batch);
      } catch (err) {
        if (classifySendError(err) !== 'rejected') throw err;
        // The broker will refuse these bytes forever: holding them would block everything behind.
        refused = true;
        this.opts.log.error({ topic, records: batch.length, err: rootMessage(err) }, 'spool: Kafka refused spooled records for good; dropped them (counted in dropped)');
      }
      if (info.dropped) return;
      info.acked += batch.length;
      if (refused) this.rejected += batch.length;
      else this.drained += batch.length;
      i += batch.length;
    }
  }

  /** Sleeps the backoff unless woken (flush, close); while closing, never long. */
  private async pause(ms: number): Promise<void> {
    const wait = this.closing ? Math.min(ms, 1000) : ms;
    if (!this.wake.signal.aborted) await sleep(wait, undefined, { signal: this.wake.signal }).catch(() => undefined);
    if (this.wake.signal.aborted) this.wake = new AbortController();
  }
}
