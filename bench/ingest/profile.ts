/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof` on a worker) and says where the worker's
 * CPU went by self time, per function and per stage of the pipeline (decode, validate,
 * anomaly scoring, ILP encoding, kafkajs …): where a faster worker has to come from.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  /** Share of the busy (non-idle) samples, 0..1. */
  share: number;
}

export interface ProfileSummary {
  busySeconds: number;
  /** Share of wall time the worker's main thread was busy. */
  busyShare: number;
  functions: HotSpot[];
  stages: HotSpot[];
}

const GENERIC = new Set(['Node internals (buffers, streams, net, timers)', 'V8 builtins / native', 'other']);

/** Which pipeline stage a frame belongs to, from its script URL and function name. */
export function stageOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (/node_modules\/kafkajs\//.test(url)) return 'kafkajs (fetch, decode record batches, commit)';
  if (/node_modules\/node-rdkafka\//.test(url)) return 'node-rdkafka';
  if (/node_modules\/avsc\/|\/schemas\/codec|\/streams\/(avro-)?decoder/.test(url)) return 'Avro decode (avsc, schemas/codec, streams decoder)';
  if (/\/core\/(kafkajs|rdkafka)-bus/.test(url)) return 'bus adapter (core/*-bus.ts: message mapping, commits)';
  if (/\/schemas\/validate/.test(url)) return 'validate (schemas/validate)';
  if (/\/models\/|\/streams\/anomaly/.test(url)) return 'anomaly scoring (models, streams/anomaly-*)';
  if (/@questdb\/|\/streams\/sample-store/.test(url)) return 'ILP encoding + QuestDB client';
  if (/node_modules\/undici\/|node:internal\/deps\/undici/.test(url)) return 'HTTP client (undici)';
  if (/\/streams\/|\/core\//.test(url)) return 'worker glue (streams/, core/)';
  if (/node_modules\/pino|thread-stream|sonic-boom/.test(url)) return 'logging (pino)';
  if (/node_modules\/(tsx|esbuild|get-tsconfig)/.test(url)) return 'tsx loader';
  if (url.startsWith('node:')) return 'Node internals (buffers, streams, net, timers)';
  return url === '' ? 'V8 builtins / native' : 'other';
}

/** The newest (largest when tied) .cpuprofile in a folder: the main thread's. */
export function findProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

/**
 * Self time per function and per stage over the samples between `fromMs` and `toMs`
 * (wall clock), given the wall-clock time the profiled process started at.
 */
export function summarizeProfile(path: string, processStartMs: number, fromMs: number, toMs: number, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Native and Node-internal frames (Buffer writes, utf8Write …) are charged to the nearest
  // caller that belongs to a stage: a string copy made by the ILP client is ILP encoding.
  const stageMemo = new Map<number, string>();
  const stageFor = (id: number): string => {
    const known = stageMemo.get(id);
    if (known) return known;
    const f = byId.get(id)!;
    let stage = stageOf(f.url, f.functionName);
    if (GENERIC.has(stage)) {
      const up = parent.get(id);
      const inherited = up === undefined || byId.get(up)!.functionName === '(root)' ? stage : stageFor(up);
      if (!GENERIC.has(inherited)) stage = inherited;
    }
    stageMemo.set(id, stage);
    return stage;
  };
  const selfFn = new Map<string, number>();
  const selfStage = new Map<string, number>();
  let busy = 0;
  let total = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const wall = processStartMs + (t - profile.startTime) / 1000;
    if (wall < fromMs || wall > toMs) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    total += dt;
    const frame = byId.get(profile.samples[i]!);
    if (!frame || frame.functionName === '(idle)') continue;
    busy += dt;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/main\//, '');
    // tsx-compiled files report line 0: the file name alone says enough there.
    const name = `${frame.functionName || '(anonymous)'} ${file}${file && frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : ''}`.trim();
    selfFn.set(name, (selfFn.get(name) ?? 0) + dt);
    const stage = stageFor(profile.samples[i]!);
    selfStage.set(stage, (selfStage.get(stage) ?? 0) + dt);
  }
  const rank = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, share: busy > 0 ? us / busy : 0 }));
  return { busySeconds: busy / 1e6, busyShare: total > 0 ? busy / total : 0, functions: rank(selfFn, top), stages: rank(selfStage, 50) };
}
