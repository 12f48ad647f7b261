// The host agent: every interval it reads the host (procfs) and its domains (libvirt), turns the
// counters into rates against the previous read, and publishes one host sample and one sample per
// VM through the SamplePublisher (keyed by host). It keeps one previous read, nothing more, so its
// memory does not grow with time; domains that went away are dropped with the read that missed them.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, NovaError, type Logger } from '../../core/index.ts';
import type { HostSample, VmSample } from '../../schemas/index.ts';
import type { SamplePublisher } from '../publisher.ts';
import type { DomainObservation, DomainReader, DomainsObservation } from './domstats.ts';
import type { AgentMetrics, ReadSource } from './metrics.ts';
import { readHostObservation, type HostObservation } from './procfs.ts';
import { buildHostSample, buildVmSample, type NoSample } from './samples.ts';

export interface HostAgentOptions {
  /** The key of every message and the hostId of every sample. */
  hostId: string;
  /** Any SamplePublisher, whatever BusProducer it sends through (Kafka directly, or a spool in front of it). */
  publisher: SamplePublisher;
  domains: DomainReader;
  readHost?: () => Promise<HostObservation>;
  metrics?: AgentMetrics;
  log?: Logger;
  /** Wall clock for the samples' ts (ms since epoch). */
  now?: () => number;
}

/** What one read-and-publish step did. */
export interface StepReport {
  ts: number;
  /** True for a step with no earlier read to compare with: it only sets the baseline. */
  baseline: boolean;
  hostSamples: number;
  vmSamples: number;
  /** Active domains read this step. */
  domains: number;
  /** VMs without a sample this step, by reason (first seen, restarted, …). */
  skipped: Partial<Record<NoSample, number>>;
  errors: { source: ReadSource | 'kafka'; error: unknown }[];
}

export interface RunOptions {
  intervalMs: number;
  signal?: AbortSignal;
  /** Stop after this many intervals (after the baseline); default: until the signal. */
  maxIntervals?: number;
  onInterval?: (report: StepReport, agent: HostAgent) => void;
}

export class HostAgent {
  readonly totals = { intervals: 0, hostSamples: 0, vmSamples: 0, readErrors: 0, publishErrors: 0 };
  private host: HostObservation | undefined;
  private domains: { atMs: number; byName: Map<string, DomainObservation> } | undefined;
  private guestNics: ReadonlySet<string> = new Set();
  private readonly readHost: () => Promise<HostObservation>;
  private readonly now: () => number;

  constructor(private readonly opts: HostAgentOptions) {
    this.readHost = opts.readHost ?? (() => readHostObservation());
    this.now = opts.now ?? Date.now;
  }

  /** Reads both sources and publishes the samples of the interval since the previous successful read of each. */
  async step(): Promise<StepReport> {
    const ts = this.now();
    const baseline = this.host === undefined && this.domains === undefined;
    const report: StepReport = { ts, baseline, hostSamples: 0, vmSamples: 0, domains: 0, skipped: {}, errors: [] };
    const [host, doms] = await Promise.all([this.timed('procfs', this.readHost), this.timed('libvirt', () => this.opts.domains.read())]);
    const hosts: HostSample[] = [];
    const vms: VmSample[] = [];

    if (doms.ok) {
      report.domains = doms.value.domains.length;
      this.opts.metrics?.domains.set(report.domains);
      vms.push(...this.vmSamples(doms.value, ts, report));
      this.guestNics = new Set(doms.value.domains.flatMap((d) => [...d.net.keys()]));
    } else report.errors.push({ source: 'libvirt', error: doms.error });

    if (host.ok) {
      const h = host.value;
      this.opts.metrics?.load1.set(h.load.load1);
      this.opts.metrics?.load5.set(h.load.load5);
      this.opts.metrics?.load15.set(h.load.load15);
      const built = buildHostSample(this.host, h, this.opts.hostId, ts, this.guestNics);
      if ('sample' in built) hosts.push(built.sample);
      this.host = h;
    } else report.errors.push({ source: 'procfs', error: host.error });

    for (const e of report.errors) {
      this.totals.readErrors++;
      this.opts.metrics?.readErrors.inc({ source: e.source });
      // A failed baseline is run()'s to report (it throws); later ones are logged and outlived.
      if (!baseline) this.opts.log?.warn({ source: e.source, err: describeError(e.error) }, 'agent: read failed; the next interval measures from the last good read');
    }
    if (hosts.length > 0 || vms.length > 0) {
      try {
        await this.opts.publisher.addTick({ ts, hosts, vms });
        await this.opts.publisher.flush();
        report.hostSamples = hosts.length;
        report.vmSamples = vms.length;
        this.totals.hostSamples += hosts.length;
        this.totals.vmSamples += vms.length;
        this.opts.metrics?.samples.inc({ kind: 'host' }, hosts.length);
        this.opts.metrics?.samples.inc({ kind: 'vm' }, vms.length);
      } catch (error) {
        report.errors.push({ source: 'kafka', error });
        this.totals.publishErrors++;
        this.opts.metrics?.publishErrors.inc();
        this.opts.log?.error({ err: describeError(error), hostSamples: hosts.length, vmSamples: vms.length }, 'agent: publishing failed; these samples are lost');
      }
    }
    if (!baseline) {
      this.totals.intervals++;
      this.opts.metrics?.intervals.inc();
    }
    return report;
  }

  /**
   * Reads a baseline, then steps every `intervalMs` until the signal aborts or `maxIntervals` are
   * done. A baseline that cannot read a source throws its error (a wrong URI should stop the
   * command at once); later failures are counted and logged, and the agent goes on.
   */
  async run(options: RunOptions): Promise<void> {
    const first = await this.step();
    const failed = first.errors[0];
    if (failed) throw failed.error instanceof NovaError ? failed.error : new NovaError('AGENT_READ_FAILED', `${failed.source}: ${describeError(failed.error)}`, { cause: failed.error });
    const start = performance.now();
    let slot = 0;
    for (let done = 0; options.maxIntervals === undefined || done < options.maxIntervals; done++) {
      // Fixed-rate slots from the start; a step that overran skips the slots it missed rather than bunching up.
      slot = Math.max(slot + 1, Math.ceil((performance.now() - start) / options.intervalMs));
      const wait = start + slot * options.intervalMs - performance.now();
      const aborted = await sleep(Math.max(0, wait), false, { signal: options.signal }).catch(() => true);
      if (aborted || options.signal?.aborted) return;
      options.onInterval?.(await this.step(), this);
    }
  }

  private vmSamples(read: DomainsObservation, ts: number, report: StepReport): VmSample[] {
    const previous = this.domains;
    const seconds = previous ? (read.atMs - previous.atMs) / 1000 : 0;
    const out: VmSample[] = [];
    const byName = new Map<string, DomainObservation>();
    for (const dom of read.domains) {
      byName.set(dom.name, dom);
      const built = buildVmSample(previous?.byName.get(dom.name), dom, seconds, this.opts.hostId, ts);
      if ('sample' in built) out.push(built.sample);
      else report.skipped[built.skipped] = (report.skipped[built.skipped] ?? 0) + 1;
    }
    // Only this read's domains stay: one that left is forgotten, and comes back as new.
    this.domains = { atMs: read.atMs, byName };
    return out;
  }

  private async timed<T>(source: ReadSource, read: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    const started = performance.now();
    try {
      return { ok: true, value: await read() };
    } catch (error) {
      return { ok: false, error };
    } finally {
      this.opts.metrics?.readDuration.set({ source }, (performance.now() - started) / 1000);
    }
  }
}
