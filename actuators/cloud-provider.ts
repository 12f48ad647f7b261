/**
 * Port in front of a public cloud's instance API (adapters: AWS EC2). What the cost model chose
 * (instance type, spot or on-demand) goes in; errors come out as NovaErrors with CLOUD_* codes:
 * CLOUD_THROTTLED and CLOUD_CAPACITY are retriable (later, or elsewhere), CLOUD_AUTH and
 * CLOUD_INVALID_REQUEST are not.
 */
export interface CloudInstance {
  instanceId: string;
  instanceType: string;
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated' | (string & {});
  pricing: 'on-demand' | 'spot';
  zone?: string;
  /** Tags, e.g. novacron:vm-id. */
  tags: Record<string, string>;
}

export interface LaunchRequest {
  /** NovaCron's VM id; tagged on the instance and used as the idempotency token (a retried launch creates nothing twice). */
  vmId: string;
  instanceType: string;
  /** Machine image to boot. */
  imageId: string;
  pricing: 'on-demand' | 'spot';
  zone?: string;
  subnetId?: string;
}

export interface CloudProvider {
  readonly provider: string;
  readonly region: string;
  launch(req: LaunchRequest): Promise<CloudInstance>;
  start(instanceId: string): Promise<void>;
  stop(instanceId: string): Promise<void>;
  /** Changes the type of a stopped instance. */
  changeInstanceType(instanceId: string, instanceType: string): Promise<void>;
  terminate(instanceId: string): Promise<void>;
  describe(instanceIds?: readonly string[]): Promise<CloudInstance[]>;
}
