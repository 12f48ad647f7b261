/**
 * bench:api's load generator, run as its own process (forked with an IPC channel) so it does not
 * share an event loop with the API it measures. One autocannon run per message; the request
 * paths cycle through the list it is given (varying ids), every request with the viewer key.
 *
 * IPC in:  {type:'run', url, token, paths, rate (0 = as fast as it goes), seconds, connections, acceptEncoding}
 * IPC out: {type:'progress', second, responses} · {type:'result', …LoadResult}
 */
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { quantileSorted } from 'simple-statistics';

// autocannon appends every response body chunk to a string (for its verifyBody/onResponse
// hooks, which this generator does not use): decoding 17 KiB gzip bodies as UTF-8 took 56 % of
// the load generator's CPU at 4,000 req/s and made it, not the API, the bottleneck. Bytes are
// still counted (its 'response' event and throughput come from the parser, not from this).
const PipelinedRequestsQueue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: { addBody(data: Buffer): void } };
PipelinedRequestsQueue.prototype.addBody = () => {};

export interface LoadRequest {
  type: 'run';
  url: string;
  token: string;
  paths: string[];
  /** Requests a second over all connections (autocannon overallRate); 0 = no limit. */
  rate: number;
  seconds: number;
  connections: number;
  /** Accept-Encoding sent with every request (as browsers, curl --compressed and HTTP libraries do); '' = none. */
  acceptEncoding: string;
}

export interface LoadResult {
  responses: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non2xx: number;
  /** Connection errors and timeouts (no response at all). */
  errors: number;
  bytesPerResponse: number;
  /** A few of the non-2xx answers, for the report. */
  sample: string[];
}

const send = (m: unknown) => process.send?.(m);

async function run(req: LoadRequest): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  let i = 0;
  const sample: string[] = [];
  const instance = autocannon({
    url: req.url,
    connections: req.connections,
    duration: req.seconds,
    ...(req.rate > 0 ? { overallRate: req.rate } : {}),
    headers: { authorization: `Bearer ${req.token}`, ...(req.acceptEncoding ? { 'accept-encoding': req.acceptEncoding } : {}) },
    requests: [{ setupRequest: (r: Record<string, unknown>) => ({ ...r, path: req.paths[i++ % req.paths.length] }) }],
    timeout: 10,
  });
  let second = 0;
  let seen = 0;
  const ticker = setInterval(() => {
    second++;
    send({ type: 'progress', second, responses: latencies.length - seen });
    seen = latencies.length;
  }, 1000);
  // Raw response times of every answer (autocannon's own histogram has no p95).
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    if (status < 200 || status > 299) non2xx++;
  });
  instance.on('reqError', (err: Error) => { if (sample.length < 3) sample.push(err.message); });
  const result = await new Promise<autocannon.Result>((resolve, reject) => instance.on('done', resolve).on('error', reject));
  clearInterval(ticker);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length > 0 ? quantileSorted(latencies, p) : NaN);
  return {
    responses: latencies.length,
    rps: latencies.length / result.duration,
    p50: q(0.5), p95: q(0.95), p99: q(0.99), max: latencies.at(-1) ?? NaN,
    non2xx,
    errors: result.errors,
    bytesPerResponse: latencies.length > 0 ? result.throughput.total / latencies.length : 0,
    sample,
  };
}

process.on('message', (m: LoadRequest) => {
  if (m?.type !== 'run') return;
  run(m).then((r) => send({ type: 'result', ...r }), (err: unknown) => send({ type: 'error', message: (err as Error).message }));
});
process.on('SIGINT', () => process.exit(130));
send({ type: 'ready' });
