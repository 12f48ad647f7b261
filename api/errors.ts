import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { NovaError } from '../core/index.ts';

/** Error body of every non-2xx answer: a stable code, what to do, and the field at fault. */
export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
  retriable: boolean;
}

function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const params = v.params as { missingProperty?: string; additionalProperty?: string } | undefined;
  const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const named = params?.missingProperty ?? params?.additionalProperty;
  if (named) return path ? `${path}.${named}` : named;
  return path || undefined;
}

/** HTTP status of our typed errors whose code does not say it by suffix. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  API_UNAUTHENTICATED: 401,
  API_FORBIDDEN: 403,
  API_KEY_INVALID: 400,
  API_KEY_EXISTS: 409,
  EXECUTION_TRANSITION_INVALID: 409,
  API_RATE_LIMITED: 429,
  API_BAD_REQUEST: 400,
  FORECAST_HISTORY_TOO_SHORT: 422,
};

/** Status of a typed error: listed, else 404 for *_NOT_FOUND, 503 when a retry helps, else 500. */
export function statusOf(err: NovaError): number {
  return STATUS_BY_CODE[err.code] ?? (err.code.endsWith('_NOT_FOUND') ? 404 : err.retriable ? 503 : 500);
}

/** Maps validation errors to 400 naming the field, our typed errors to their status, the rest to 500. */
export function errorHandler(err: FastifyError | NovaError, request: FastifyRequest, reply: FastifyReply): void {
  if ('validation' in err && err.validation) {
    const field = fieldOf(err);
    const where = err.validationContext ?? 'request';
    const body: ApiErrorBody = { code: 'API_BAD_REQUEST', message: `${where}${field ? `.${field}` : ''} ${err.validation[0]?.message ?? 'is invalid'}`, field, retriable: false };
    void reply.status(400).send(body);
    return;
  }
  if (err instanceof NovaError) {
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
    void reply.status(status).send({ code: err.code, message: err.message, ...(field ? { field } : {}), retriable: err.retriable } satisfies ApiErrorBody);
    return;
  }
  const status = (err as FastifyError).statusCode ?? 500;
  if (status === 413) {
    const limit = request.routeOptions.bodyLimit;
    void reply.status(413).send({ code: 'API_BODY_TOO_LARGE', message: `the request body is larger than this route accepts${limit ? ` (${limit} bytes)` : ''}`, retriable: false } satisfies ApiErrorBody);
    return;
  }
  if (status >= 500) request.log.error({ err }, 'request failed');
  void reply.status(status).send({ code: (err as FastifyError).code ?? 'API_INTERNAL', message: status >= 500 ? 'internal error; see the server log' : err.message, retriable: status >= 500 } satisfies ApiErrorBody);
}
