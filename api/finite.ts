import type { FastifyRequest } from 'fastify';
import { NovaError } from '../core/index.ts';

/** The path of the first number in `value` that is not finite, or null. */
export function nonFinitePath(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (value === null || typeof value !== 'object') return null;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [k, v] of entries) {
    const found = nonFinitePath(v, [...path, k]);
    if (found) return found;
  }
  return null;
}

/**
 * preHandler hook: refuses (400 naming the field) a request whose validated input holds a number
 * that is not finite. Ajv's type coercion turns the strings "Infinity", "-Infinity" and "1e999"
 * into ±Infinity and then skips minimum/maximum for them (with strictNumbers a non-finite number
 * is not a "number" for those keywords), so the schema bounds alone let them through.
 */
export async function refuseNonFinite(req: FastifyRequest): Promise<void> {
  for (const [part, value] of [['params', req.params], ['querystring', req.query], ['body', req.body]] as const) {
    const path = nonFinitePath(value);
    if (!path) continue;
    const field = path.join('.');
    throw new NovaError('API_BAD_REQUEST', `${part}${field ? `.${field}` : ''} must be a finite number within its bounds (see /openapi.json)`, { details: { field } });
  }
}
