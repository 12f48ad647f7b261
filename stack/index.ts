export { stackUp, stackDown, stackStatus } from './stack.ts';
export type { ServiceStatus, ServiceState } from './service.ts';
