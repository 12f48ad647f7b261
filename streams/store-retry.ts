import { NovaError } from '../core/index.ts';

/** What a failed store write means for the batch: wait and retry it, or let Kafka re-deliver it. */
export interface StoreFailure {
  code: string;
  retriable: boolean;
  message: string;
}

// Socket-level failures Node (and undici, under the QuestDB client) report when the server is down or stalls.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    // Node's fetch / undici wrap several attempts in an AggregateError.
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) {
      const c = (inner as { code?: unknown })?.code;
      if (typeof c === 'string' && NETWORK_CODES.has(c)) return c;
    }
  }
  return undefined;
}

/** An HTTP status after which the same request may succeed later: 5xx (the server is there but cannot take it now), 429 and 408 (it asks us to slow down or try again). */
export function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Sorts a store error into "the store is down or slow" (retriable: the same batch will go
 * through later) and "the store refused the data" (not retriable: waiting does not help).
 * NovaErrors carry their own flag; the QuestDB client's errors are read from their socket
 * code or HTTP status (it throws plain Errors: "HTTP request failed, statusCode=503, ...").
 */
export function classifyStoreError(err: unknown): StoreFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NovaError) return { code: err.code, retriable: err.retriable, message };
  const errno = errnoCode(err);
  if (errno) return { code: `STORE_UNREACHABLE_${errno}`, retriable: true, message };
  if (/request timeout|no response from server/i.test(message)) return { code: 'STORE_TIMEOUT', retriable: true, message };
  const status = /statusCode=(\d{3})/.exec(message)?.[1];
  if (status) {
    const n = Number(status);
    if (isRetriableStatus(n)) return { code: `STORE_HTTP_${n}`, retriable: true, message };
    return { code: `STORE_HTTP_${n}`, retriable: false, message };
  }
  return { code: 'STORE_FAILED', retriable: false, message };
}

/**
 * Delay before retry number `attempt` (1-based): doubling from `baseMs`, capped at `maxMs`,
 * with the upper half jittered so many workers do not hit a recovering QuestDB in step.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
