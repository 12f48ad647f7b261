import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Config } from '../../core/index.ts';
import { jarDirs } from '../../stack/jars.ts';
import { javaBinary } from '../../stack/tools.ts';
import type { Children } from './procs.ts';

export interface KafkaPerfResult {
  label: string;
  records: number;
  recordsPerS: number;
  mbPerS: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
}

// Kafka's closing line, e.g. "2000000 records sent, 412371.1 records/sec (59.36 MB/sec), 95.21 ms avg latency, 300.00 ms max latency, 90 ms 50th, 250 ms 95th, 280 ms 99th, 299 ms 99.9th."
const FINAL = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.*?(\d+) ms 99th/;

/** Parses ProducerPerformance's final summary line (undefined when it is missing). */
export function parseProducerPerformance(output: string, label: string): KafkaPerfResult | undefined {
  const m = FINAL.exec(output);
  if (!m) return undefined;
  return { label, records: Number(m[1]), recordsPerS: Number(m[2]), mbPerS: Number(m[3]), avgLatencyMs: Number(m[4]), p99LatencyMs: Number(m[5]) };
}

/**
 * Kafka's own producer perf tool (org.apache.kafka.tools.ProducerPerformance from the
 * kafka-tools jar the stack resolved) with the machine's Java, against the stack's broker:
 * the most this broker takes on this machine, with records the size of our Avro samples.
 */
export async function kafkaProducerPerf(config: Config, children: Children, opts: { topic: string; records: number; recordSize: number; props: string[]; label: string }): Promise<KafkaPerfResult> {
  const classpath = `${join(jarDirs(config).kafka, '*')}`;
  const args = [
    '-Xmx512m', '-cp', classpath, 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', opts.topic, '--num-records', String(opts.records), '--record-size', String(opts.recordSize), '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${config.kafka.brokers.join(',')}`, 'acks=all', ...opts.props,
  ];
  const child = children.track(spawn(javaBinary(config.java.kafkaHome), args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const result = parseProducerPerformance(out, opts.label);
  if (!result) throw new Error(`ProducerPerformance (${opts.label}) exited ${code} without its summary line:\n${out.split('\n').slice(-15).join('\n')}`);
  return result;
}
