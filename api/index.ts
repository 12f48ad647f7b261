export { buildApi, type ApiDeps } from './server.ts';
export type { ApiErrorBody } from './errors.ts';
