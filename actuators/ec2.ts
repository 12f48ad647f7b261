import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeInstancesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type DescribeInstancesCommandInput,
  type EC2ClientConfig,
  type Instance,
  type RunInstancesCommandInput,
  type Tag,
} from '@aws-sdk/client-ec2';
import { NovaError, type Logger } from '../core/index.ts';
import type { CloudInstance, CloudProvider, LaunchRequest } from './cloud-provider.ts';

// Retries: the SDK's standard retry strategy does them, not this adapter. It already classifies
// RequestLimitExceeded/Throttling* as throttling (base delay 1 s, full jitter, exponential, capped
// at 20 s), retries 5xx and network errors, honours Retry-After, and keeps one retry quota per
// client, so many concurrent calls against a throttled account do not multiply into a retry storm
// (a loop here could not share that budget, and on top of the SDK's would square the attempts).
// Every retried request is re-sent as serialized, so a retried RunInstances carries the same
// ClientToken. What reaches the adapter has exhausted `maxAttempts` (SDK default 3) and is mapped
// once to a NovaError; the caller (the executor) decides about retrying later or elsewhere.

/** Tag carrying NovaCron's VM id on every instance it launches. */
export const VM_ID_TAG = 'novacron:vm-id';

export interface Ec2Options {
  /** AWS region, e.g. us-east-1 (no default: see `Ec2CloudProvider.fromDefaultChain` for the SDK's chain). */
  region: string;
  /** Static credentials or a provider; absent = the SDK's default chain (env, profile, SSO, web identity, IMDS). */
  credentials?: EC2ClientConfig['credentials'];
  /** Named profile of ~/.aws/config for the default chain. */
  profile?: string;
  /** Endpoint override (VPC endpoint, an EC2-compatible emulator). */
  endpoint?: string;
  /** Attempts per call, first included (SDK standard retry strategy; SDK default 3). */
  maxAttempts?: number;
  /** Replaces the SDK's standard retry strategy (e.g. `adaptive` client-side rate limiting). */
  retryStrategy?: EC2ClientConfig['retryStrategy'];
  /** A client built elsewhere (its own region, credentials and retry settings are used as they are). */
  client?: EC2Client;
  /** Security groups for launched instances (absent = the subnet's VPC default group). */
  securityGroupIds?: readonly string[];
  /** Tags added to every launched instance besides novacron:vm-id. */
  extraTags?: Readonly<Record<string, string>>;
  /** How long stop/start wait for `stopped`/`running` (default 10 min). */
  stateTimeoutMs?: number;
  /** Interval of DescribeInstances while waiting (default 5 s). */
  pollMs?: number;
  logger?: Logger;
}

/** A launch, optionally with a key that tells a new launch of the same VM from a retry of the previous one. */
export interface Ec2LaunchRequest extends LaunchRequest {
  /**
   * Distinguishes launches of the same VM (e.g. the plan action id). EC2 keeps a ClientToken for
   * at least a day after its instance terminated and answers a repeat with that terminated
   * instance, so launching a VM again after a termination needs a new key.
   */
  launchKey?: string;
}

/** The RunInstances ClientToken of a VM's launch: deterministic, ASCII, 52 characters (EC2 allows 64). */
export function clientTokenFor(vmId: string, launchKey?: string): string {
  const h = createHash('sha256').update('novacron-launch\0').update(vmId);
  if (launchKey !== undefined) h.update('\0').update(launchKey);
  return `novacron-${h.digest('base64url')}`;
}

/** CloudProvider on AWS EC2 (SDK v3). Errors are NovaErrors with CLOUD_* codes (see `ec2ErrorToNova`). */
export class Ec2CloudProvider implements CloudProvider {
  readonly provider = 'aws';
  readonly region: string;
  private readonly client: EC2Client;
  private readonly stateTimeoutMs: number;
  private readonly pollMs: number;
  private readonly securityGroupIds: readonly string[] | undefined;
  private readonly extraTags: Readonly<Record<string, string>>;
  private readonly log: Logger | undefined;

  constructor(options: Ec2Options) {
    if (!options.region) throw new NovaError('CONFIG_INVALID', 'the EC2 adapter needs a region (e.g. us-east-1), or use Ec2CloudProvider.fromDefaultChain');
    this.region = options.region;
    this.client = options.client ?? new EC2Client(clientConfig(options));
    this.stateTimeoutMs = options.stateTimeoutMs ?? 10 * 60_000;
    this.pollMs = options.pollMs ?? 5_000;
    this.securityGroupIds = options.securityGroupIds;
    this.extraTags = options.extraTags ?? {};
    if (VM_ID_TAG in this.extraTags) throw new NovaError('CONFIG_INVALID', `extraTags must not set ${VM_ID_TAG}: the adapter sets it from the VM id`);
    this.log = options.logger?.child({ component: 'ec2', region: this.region });
  }

  /** An adapter whose region, when not given, comes from the SDK's chain (AWS_REGION, the profile's region) or the given client. */
  static async fromDefaultChain(options: Omit<Ec2Options, 'region'> & { region?: string }): Promise<Ec2CloudProvider> {
    const client = options.client ?? new EC2Client(clientConfig(options));
    let region = options.region;
    if (region === undefined) {
      try {
        region = await client.config.region();
      } catch (err) {
        throw new NovaError('CONFIG_INVALID', `no AWS region configured: set AWS_REGION, a region in the AWS profile, or the adapter's region (${sanitize(messageOf(err))})`);
      }
    }
    return new Ec2CloudProvider({ ...options, region, client });
  }

  async launch(req: Ec2LaunchRequest): Promise<CloudInstance> {
    checkLaunch(req);
    const tags: Record<string, string> = { ...this.extraTags, [VM_ID_TAG]: req.vmId };
    const tagList: Tag[] = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    const input: RunInstancesCommandInput = {
      ImageId: req.imageId,
      InstanceType: req.instanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientTokenFor(req.vmId, req.launchKey),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tagList },
        { ResourceType: 'volume', Tags: tagList },
      ],
      ...(req.zone !== undefined && { Placement: { AvailabilityZone: req.zone } }),
      ...(req.subnetId !== undefined && { SubnetId: req.subnetId }),
      ...(this.securityGroupIds !== undefined && { SecurityGroupIds: [...this.securityGroupIds] }),
      // One-time spot, terminated on interruption: no persistent request that would relaunch the
      // instance behind NovaCron's back after terminate(), and no MaxPrice (AWS caps it at the
      // on-demand price; a lower cap only adds SpotMaxPriceTooLow failures). Consequence: a spot
      // instance cannot be stopped, so it is resized by relaunching, not by changeInstanceType.
      ...(req.pricing === 'spot' && {
        InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
      }),
    };
    const ctx = { operation: 'RunInstances', vmId: req.vmId, instanceType: req.instanceType, pricing: req.pricing, zone: req.zone };
    const out = await this.call(ctx, () => this.client.send(new RunInstancesCommand(input)));
    const raw = out.Instances?.[0];
    if (!raw?.InstanceId) throw new NovaError('CLOUD_INVALID_REQUEST', `EC2 accepted the launch of VM ${req.vmId} but returned no instance; describe by tag ${VM_ID_TAG}=${req.vmId}`, { details: ctx });
    const instance = toCloudInstance(raw, tags);
    if (instance.state === 'terminated' || instance.state === 'shutting-down') {
      // Same ClientToken as an earlier launch whose instance has since gone: EC2 answers with it.
      throw new NovaError(
        'CLOUD_IDEMPOTENCY_CONFLICT',
        `EC2 answered the launch of VM ${req.vmId} with instance ${instance.instanceId}, already ${instance.state}: its idempotency token belongs to an earlier launch; launch again with a new launchKey`,
        { details: { ...ctx, instanceId: instance.instanceId, state: instance.state, stateReason: raw.StateReason?.Message } },
      );
    }
    this.log?.info({ vmId: req.vmId, instanceId: instance.instanceId, instanceType: req.instanceType, pricing: req.pricing }, 'launched');
    return instance;
  }

  async stop(instanceId: string): Promise<void> {
    checkInstanceId(instanceId);
    await this.call({ operation: 'StopInstances', instanceId }, () => this.client.send(new StopInstancesCommand({ InstanceIds: [instanceId] })));
    this.log?.info({ instanceId }, 'stop requested');
    await this.waitFor(instanceId, 'stopped');
  }

  async start(instanceId: string): Promise<void> {
    checkInstanceId(instanceId);
    await this.call({ operation: 'StartInstances', instanceId }, () => this.client.send(new StartInstancesCommand({ InstanceIds: [instanceId] })));
    this.log?.info({ instanceId }, 'start requested');
    await this.waitFor(instanceId, 'running');
  }

  async changeInstanceType(instanceId: string, instanceType: string): Promise<void> {
    checkInstanceId(instanceId);
    if (!instanceType) throw new NovaError('CLOUD_INVALID_REQUEST', 'changeInstanceType needs an instance type');
    const current = await this.describeOne(instanceId);
    if (current.state !== 'stopped') throw notStopped(instanceId, current.state);
    if (current.instanceType === instanceType) return;
    await this.call({ operation: 'ModifyInstanceAttribute', instanceId, instanceType }, () =>
      this.client.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceType: { Value: instanceType } })),
    );
    this.log?.info({ instanceId, from: current.instanceType, to: instanceType }, 'instance type changed');
  }

  /** Requests termination and returns once EC2 accepted it (billing stops at shutting-down; nothing waits for terminated). */
  async terminate(instanceId: string): Promise<void> {
    checkInstanceId(instanceId);
    await this.call({ operation: 'TerminateInstances', instanceId }, () => this.client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    this.log?.info({ instanceId }, 'terminate requested');
  }

  /** The named instances, or, with no ids, every instance carrying the novacron:vm-id tag (all pages). */
  async describe(instanceIds?: readonly string[]): Promise<CloudInstance[]> {
    // An empty InstanceIds means "every instance" to EC2: never send it.
    if (instanceIds !== undefined && instanceIds.length === 0) return [];
    instanceIds?.forEach(checkInstanceId);
    const instances: CloudInstance[] = [];
    let nextToken: string | undefined;
    do {
      // A fresh input per page (the SDK paginator mutates one object across pages).
      const input: DescribeInstancesCommandInput =
        instanceIds !== undefined
          ? { InstanceIds: [...instanceIds] }
          : { Filters: [{ Name: 'tag-key', Values: [VM_ID_TAG] }], MaxResults: 1000 };
      if (nextToken !== undefined) input.NextToken = nextToken;
      const page = await this.call({ operation: 'DescribeInstances', instanceIds: instanceIds?.slice(0, 20) }, () => this.client.send(new DescribeInstancesCommand(input)));
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) instances.push(toCloudInstance(i));
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return instances;
  }

  private async describeOne(instanceId: string): Promise<CloudInstance & { stateReason?: string }> {
    const out = await this.call({ operation: 'DescribeInstances', instanceId }, () => this.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
    const raw = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    if (!raw) throw new NovaError('CLOUD_INVALID_REQUEST', `EC2 instance ${instanceId} was not found in ${this.region}`, { details: { instanceId, region: this.region } });
    return { ...toCloudInstance(raw), ...(raw.StateReason?.Code && { stateReason: raw.StateReason.Code }) };
  }

  /** Polls until the instance is in `target`; fails early on states it cannot leave towards it. */
  private async waitFor(instanceId: string, target: 'stopped' | 'running'): Promise<void> {
    const deadline = Date.now() + this.stateTimeoutMs;
    let state = 'unknown';
    for (;;) {
      const now = await this.describeOne(instanceId);
      state = now.state;
      if (state === target) return;
      if (state === 'terminated' || state === 'shutting-down') {
        throw new NovaError('CLOUD_INVALID_REQUEST', `EC2 instance ${instanceId} is ${state} and will never be ${target}`, { details: { instanceId, state, target } });
      }
      // A start that EC2 accepted but could not place returns the instance to stopped.
      if (target === 'running' && state === 'stopped' && now.stateReason?.startsWith('Server.Insufficient')) {
        throw new NovaError('CLOUD_CAPACITY', `EC2 had no capacity to start ${instanceId} (${now.stateReason}): retry later, or change its type or zone`, {
          retriable: true,
          details: { instanceId, awsCode: now.stateReason },
        });
      }
      if (Date.now() + this.pollMs > deadline) break;
      await sleep(this.pollMs);
    }
    throw new NovaError('CLOUD_TIMEOUT', `EC2 instance ${instanceId} was still ${state}, not ${target}, after ${Math.round(this.stateTimeoutMs / 1000)} s: check it in the console, then retry`, {
      retriable: true,
      details: { instanceId, state, target, timeoutMs: this.stateTimeoutMs },
    });
  }

  private async call<T>(ctx: ErrorContext, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const nova = ec2ErrorToNova(err, ctx);
      this.log?.warn({ code: nova.code, retriable: nova.retriable, ...nova.details }, nova.message);
      throw nova;
    }
  }
}

function clientConfig(options: Omit<Ec2Options, 'region' | 'client'> & { region?: string }): EC2ClientConfig {
  const config: EC2ClientConfig = {};
  if (options.region !== undefined) config.region = options.region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.profile !== undefined) config.profile = options.profile;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  if (options.retryStrategy !== undefined) config.retryStrategy = options.retryStrategy;
  return config;
}

function checkLaunch(req: LaunchRequest): void {
  const bad = (field: string, why: string) => new NovaError('CLOUD_INVALID_REQUEST', `launch request field "${field}" ${why}`, { details: { vmId: req.vmId, field } });
  if (!req.vmId) throw bad('vmId', 'is empty');
  // The VM id is a tag value (at most 256 characters on EC2).
  if (req.vmId.length > 256) throw bad('vmId', 'is longer than 256 characters');
  if (!req.instanceType) throw bad('instanceType', 'is empty');
  if (!req.imageId) throw bad('imageId', 'is empty');
  if (req.pricing !== 'on-demand' && req.pricing !== 'spot') throw bad('pricing', 'must be on-demand or spot');
}

function checkInstanceId(instanceId: string): void {
  if (typeof instanceId !== 'string' || instanceId === '') throw new NovaError('CLOUD_INVALID_REQUEST', 'an EC2 instance id (i-…) is needed');
}

function notStopped(instanceId: string, state: string): NovaError {
  // While it is stopping, the same call succeeds a little later; otherwise someone must stop it.
  return new NovaError('CLOUD_INSTANCE_NOT_STOPPED', `EC2 instance ${instanceId} is ${state}: its type can change only while it is stopped; stop it first`, {
    retriable: state === 'stopping',
    details: { instanceId, state },
  });
}

function toCloudInstance(i: Instance, fallbackTags: Record<string, string> = {}): CloudInstance {
  const tags: Record<string, string> = { ...fallbackTags };
  for (const t of i.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  const out: CloudInstance = {
    instanceId: i.InstanceId ?? '',
    instanceType: i.InstanceType ?? '',
    state: i.State?.Name ?? 'unknown',
    pricing: i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
    tags,
  };
  if (i.Placement?.AvailabilityZone) out.zone = i.Placement.AvailabilityZone;
  return out;
}

// ---- error mapping -------------------------------------------------------------------------

interface ErrorContext {
  operation: string;
  [key: string]: unknown;
}

const THROTTLING = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'RequestThrottledException',
  'ThrottledException', 'EC2ThrottledException', 'TooManyRequestsException', 'BandwidthLimitExceeded',
  'SlowDown', 'PriorRequestNotComplete',
]);
const CAPACITY = new Set([
  'InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnOutpost', 'InsufficientFreeAddressesInSubnet', 'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded',
  'InstanceLimitExceeded', 'VcpuLimitExceeded', 'InsufficientAddressCapacity',
]);
const QUOTA = new Set(['MaxSpotInstanceCountExceeded', 'InstanceLimitExceeded', 'VcpuLimitExceeded']);
const AUTH = new Set([
  'AuthFailure', 'UnauthorizedOperation', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'MissingAuthenticationToken', 'InvalidAccessKeyId', 'ExpiredToken', 'ExpiredTokenException', 'RequestExpired',
  'AccessDenied', 'AccessDeniedException', 'OptInRequired', 'Blocked', 'PendingVerification', 'UnrecognizedClientException',
  'CredentialsProviderError',
]);
const SERVER = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'ServerInternal', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Maps an error of the EC2 SDK to a NovaError. The SDK error is not kept as `cause`: what a user
 * needs is copied into the message and `details` (AWS code, HTTP status, request id, attempts),
 * after scrubbing access key ids, so nothing that logs or serialises the NovaError can leak credentials.
 */
export function ec2ErrorToNova(err: unknown, ctx: ErrorContext): NovaError {
  if (err instanceof NovaError) return err;
  const e = (err ?? {}) as { name?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number; totalRetryDelay?: number } };
  const awsCode = typeof e.name === 'string' ? e.name : 'Error';
  const status = e.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = { ...ctx, awsCode };
  if (status !== undefined) details.httpStatus = status;
  if (e.$metadata?.requestId) details.requestId = e.$metadata.requestId;
  if (e.$metadata?.attempts !== undefined) details.attempts = e.$metadata.attempts;
  if (e.$metadata?.totalRetryDelay !== undefined) details.totalRetryDelayMs = e.$metadata.totalRetryDelay;
  const said = sanitize(messageOf(err));
  const what = `EC2 ${ctx.operation} failed with ${awsCode}${said ? `: ${said}` : ''}`;
  const make = (code: string, advice: string, retriable: boolean) => new NovaError(code, `${what}; ${advice}`, { retriable, details });

  if (THROTTLING.has(awsCode) || status === 429) {
    return make('CLOUD_THROTTLED', 'the account is over its EC2 API rate, even after the SDK backed off: retry later', true);
  }
  if (CAPACITY.has(awsCode)) {
    return QUOTA.has(awsCode)
      ? make('CLOUD_CAPACITY', 'an account quota is reached: retry in another region or on other pricing, or raise the quota', true)
      : make('CLOUD_CAPACITY', 'EC2 has no capacity for this request now: retry later, in another zone, with another instance type or on-demand', true);
  }
  if (AUTH.has(awsCode) || awsCode.startsWith('UnauthorizedOperation') || status === 401 || status === 403) {
    return make('CLOUD_AUTH', "check the AWS credentials (the SDK's default chain or the adapter's credentials), their IAM permissions, and the clock", false);
  }
  if (awsCode === 'IdempotentParameterMismatch') {
    return make('CLOUD_IDEMPOTENCY_CONFLICT', 'this VM was already launched with other parameters under the same idempotency token: describe it, or launch with a new launchKey', false);
  }
  if (awsCode === 'IncorrectInstanceState' && ctx.operation === 'ModifyInstanceAttribute') {
    return make('CLOUD_INSTANCE_NOT_STOPPED', 'the instance left the stopped state: stop it, then change its type', false);
  }
  if (SERVER.has(awsCode) || e.$fault === 'server' || (status !== undefined && status >= 500)) {
    return make('CLOUD_UNREACHABLE', 'EC2 failed on its side, even after the SDK retried: retry later', true);
  }
  if (status === undefined && (NETWORK_CODES.has(e.code ?? '') || awsCode === 'AbortError')) {
    return make('CLOUD_UNREACHABLE', 'EC2 could not be reached, even after the SDK retried: check the network or endpoint, then retry', true);
  }
  return make('CLOUD_INVALID_REQUEST', 'EC2 refused the request as given: check the instance id, type, image, zone and subnet', false);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : typeof err === 'string' ? err : '';
}

// Access key ids (AKIA… long-term, ASIA… temporary) and anything shaped like a secret key.
const KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g;
const SECRET_LIKE = /\b[A-Za-z0-9/+=]{40}\b/g;

/** Removes access key ids and secret-shaped strings from an AWS message; caps its length. */
export function sanitize(message: string): string {
  return message.replace(KEY_ID, '[key id]').replace(SECRET_LIKE, '[redacted]').slice(0, 500);
}
