// The one small HTTP server every long-running process (agent, worker, planner, executor) uses for
// Prometheus: GET /metrics from its own prom-client Registry, GET /healthz for container health
// checks and load balancers. The API serves both from fastify instead; everything else shares this.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { NovaError } from './errors.ts';

/** What /healthz answers: 200 while `ok`, else 503; the rest is shown as JSON. */
export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  host: string;
  /** 0 takes any free port (tests); callers treat a configured 0 as "off" and do not start one. */
  port: number;
  /** The environment variable that sets the port, named when the port is taken. */
  portSetting: string;
  /** Error code when listening fails (each process keeps its own, already documented one). */
  errorCode?: string;
  /** Liveness detail for /healthz; without it the process answering is the health. */
  health?: () => HealthReport | Promise<HealthReport>;
}

/** A listening /metrics + /healthz endpoint. */
export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `registry` at GET /metrics and a health report at GET /healthz on host:port. */
export async function startMetricsServer(registry: Registry, opts: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      Promise.resolve()
        .then(() => opts.health?.() ?? { ok: true })
        .then(
          (report) => res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ...report, status: report.ok ? 'ok' : 'unhealthy' })}\n`),
          (err: unknown) => res.writeHead(503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ok: false, status: 'unhealthy', error: err instanceof Error ? err.message : String(err) })}\n`),
        );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics or GET /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause: NodeJS.ErrnoException) => reject(new NovaError(opts.errorCode ?? 'METRICS_LISTEN_FAILED',
      `cannot serve /metrics on ${opts.host}:${opts.port} (${cause.code ?? cause.message}); set ${opts.portSetting} to a free port, or 0 to turn it off`, { cause })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      // A scraper's keep-alive connection must not hold the process open.
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
