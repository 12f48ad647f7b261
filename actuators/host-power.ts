/**
 * Port for switching whole hosts off and on (emptied hosts, and again when capacity is needed).
 * libvirt cannot power off the machine it runs on; servers are switched through their BMC
 * (Redfish); test hosts through a libvirt/no-op adapter. Errors are NovaErrors with
 * HOST_POWER_* codes (HOST_POWER_UNREACHABLE and HOST_POWER_THROTTLED are retriable).
 */
export type PowerState = 'on' | 'off' | 'unknown';

export interface HostPower {
  state(hostId: string): Promise<PowerState>;
  /** Graceful shutdown of the host's OS; resolves once the BMC reports it off (or throws). */
  powerOff(hostId: string): Promise<void>;
  powerOn(hostId: string): Promise<void>;
}
