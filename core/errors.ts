/**
 * Every error a user can see carries a stable code, a message that says what to do,
 * and whether retrying can help (kafkajs's `retriable`, fastify's FST_ERR_* codes).
 */
export class NovaError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NovaError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details;
  }
}

/** True when `err` is a NovaError with the given code. */
export function hasCode(err: unknown, code: string): err is NovaError {
  return err instanceof NovaError && err.code === code;
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof NovaError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
