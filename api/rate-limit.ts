import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NovaError } from '../core/index.ts';

/** Default requests per minute per API key (per address for public routes): generous, a runaway client's brake. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6000;

/** The bucket a request counts against: its verified key, else (public routes) its address. */
export function rateLimitKey(req: FastifyRequest): string {
  return req.caller ? `key:${req.caller.id}` : `ip:${req.ip}`;
}

/**
 * Limits each API key to `perMinute` requests a minute (fixed one-minute windows, in this
 * process's memory: each API process counts its own). The limiter runs as a route hook, after the
 * authentication hook, so it counts per verified key; a key cannot be dodged by sending another
 * made-up one, because made-up keys are refused (401) before they reach it. Over the limit: 429
 * with Retry-After and the API's error body. /healthz and /readyz opt out (config.rateLimit false).
 * perMinute 0 turns it off.
 */
export async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute <= 0) return;
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: 60_000,
    hook: 'onRequest',
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (req, ctx) => new NovaError(
      'API_RATE_LIMITED',
      `more than ${ctx.max} requests a minute from this ${req.caller ? `API key ("${req.caller.name}")` : 'address'}; retry in ${ctx.after} (see the Retry-After header)`,
      { retriable: true, details: { limitPerMinute: ctx.max, retryAfterSeconds: Math.ceil(ctx.ttl / 1000) } },
    ),
  });
}
