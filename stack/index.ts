export { stackUp, stackDown, stackStatus } from './stack.ts';
export type { ServiceStatus, ServiceState } from './service.ts';
export { acquireRealHosts, realHostsUnavailable, HOST_A_URI, HOST_B_URI, REAL_HOST_PACKAGES, type RealHosts, type GuestOptions } from './libvirt-hosts.ts';
