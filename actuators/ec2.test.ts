import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { logSink, rejection } from '../test/support/capture.ts';
import { inspect } from 'node:util';
import {
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { hasCode, NovaError } from '../core/index.ts';
import { createEc2CloudProvider } from './ec2-lazy.ts';
import { clientTokenFor, Ec2CloudProvider, ec2ErrorToNova, VM_ID_TAG, type Ec2Options } from './ec2.ts';

// No AWS is reachable here: the first suite stubs EC2Client#send (aws-sdk-client-mock) and
// asserts the exact command inputs; the second runs the whole SDK stack (serialisation, SigV4,
// the standard retry strategy) against a local HTTP server answering in EC2's query protocol.

// AWS's documented example keys: not real credentials, but shaped like them.
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKENxyz0123456789';
const credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET, sessionToken: SESSION_TOKEN };

function awsError(name: string, httpStatusCode: number, message = `${name} (example)`, fault: 'client' | 'server' = httpStatusCode >= 500 ? 'server' : 'client') {
  return new EC2ServiceException({ name, $fault: fault, message, $metadata: { httpStatusCode, requestId: 'req-0001', attempts: 3, totalRetryDelay: 1500 } });
}

function instance(id: string, state: string, more: Partial<Instance> = {}): Instance {
  return { InstanceId: id, InstanceType: 'm7i.large', State: { Name: state as never }, Placement: { AvailabilityZone: 'us-east-1a' }, Tags: [{ Key: VM_ID_TAG, Value: 'vm-1' }], ...more };
}


describe('EC2 adapter (SDK boundary, no AWS)', () => {
  const client = new EC2Client({ region: 'us-east-1', credentials });
  const ec2 = mockClient(client);
  const sink = logSink();
  const make = (o: Partial<Ec2Options> = {}) => new Ec2CloudProvider({ region: 'us-east-1', client, pollMs: 5, stateTimeoutMs: 500, logger: sink.logger, ...o });

  beforeEach(() => ec2.reset());
  after(() => ec2.restore());

  it('launches on-demand: RunInstances with type, image, zone, subnet, vm-id tags and the VM-derived ClientToken', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-0aaa', 'pending')] });
    const got = await make({ securityGroupIds: ['sg-1'], extraTags: { team: 'infra' } }).launch({
      vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-123', pricing: 'on-demand', zone: 'us-east-1a', subnetId: 'subnet-9',
    });
    const calls = ec2.commandCalls(RunInstancesCommand);
    assert.equal(calls.length, 1);
    const tags = [{ Key: 'team', Value: 'infra' }, { Key: VM_ID_TAG, Value: 'vm-1' }];
    assert.deepEqual(calls[0]!.args[0].input, {
      ImageId: 'ami-123',
      InstanceType: 'm7i.large',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientTokenFor('vm-1'),
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
      Placement: { AvailabilityZone: 'us-east-1a' },
      SubnetId: 'subnet-9',
      SecurityGroupIds: ['sg-1'],
    });
    assert.deepEqual(got, { instanceId: 'i-0aaa', instanceType: 'm7i.large', state: 'pending', pricing: 'on-demand', zone: 'us-east-1a', tags: { team: 'infra', [VM_ID_TAG]: 'vm-1' } });
  });

  it('launches on spot when the cost model chose spot: InstanceMarketOptions one-time, terminate on interruption, no max price', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-0bbb', 'pending', { InstanceLifecycle: 'spot', Placement: {} })] });
    const got = await make().launch({ vmId: 'vm-2', instanceType: 'c7i.xlarge', imageId: 'ami-123', pricing: 'spot' });
    assert.deepEqual(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input, {
      ImageId: 'ami-123',
      InstanceType: 'c7i.xlarge',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: clientTokenFor('vm-2'),
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: VM_ID_TAG, Value: 'vm-2' }] }, { ResourceType: 'volume', Tags: [{ Key: VM_ID_TAG, Value: 'vm-2' }] }],
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
    });
    assert.equal(got.pricing, 'spot');
    assert.equal(got.zone, undefined);
  });

  it('a retried launch sends the identical request, same ClientToken, so EC2 returns the same instance instead of a second one', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-0aaa', 'pending')] });
    const p = make();
    const req = { vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-123', pricing: 'on-demand' as const };
    const a = await p.launch(req);
    const b = await p.launch(req);
    const [first, second] = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    assert.deepEqual(first, second);
    assert.equal(a.instanceId, b.instanceId);
    // The token: a function of the VM id (and an optional launch key) only, ASCII, within EC2's 64 characters.
    const token = clientTokenFor('vm-1');
    assert.equal(token, clientTokenFor('vm-1'));
    assert.match(token, /^[\x21-\x7e]{1,64}$/);
    assert.notEqual(token, clientTokenFor('vm-2'));
    assert.notEqual(token, clientTokenFor('vm-1', 'plan-7/action-3'));
    assert.equal(clientTokenFor('vm-1', 'plan-7/action-3'), clientTokenFor('vm-1', 'plan-7/action-3'));
    await p.launch({ ...req, launchKey: 'plan-7/action-3' });
    assert.equal(ec2.commandCalls(RunInstancesCommand)[2]!.args[0].input.ClientToken, clientTokenFor('vm-1', 'plan-7/action-3'));
  });

  it('a launch answered with an already terminated instance (token of an earlier launch) is CLOUD_IDEMPOTENCY_CONFLICT', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [instance('i-0old', 'terminated', { StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'User initiated shutdown' } })] });
    const err = await rejection(make().launch({ vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-123', pricing: 'on-demand' }));
    assert.equal(err.code, 'CLOUD_IDEMPOTENCY_CONFLICT');
    assert.equal(err.retriable, false);
    assert.match(err.message, /i-0old, already terminated.*new launchKey/);
    ec2.on(RunInstancesCommand).rejects(awsError('IdempotentParameterMismatch', 400));
    const mismatch = await rejection(make().launch({ vmId: 'vm-1', instanceType: 'm7i.xlarge', imageId: 'ami-123', pricing: 'on-demand' }));
    assert.equal(mismatch.code, 'CLOUD_IDEMPOTENCY_CONFLICT');
  });

  it('stop sends StopInstances, then polls DescribeInstances until the instance is stopped', async () => {
    ec2.on(StopInstancesCommand).resolves({});
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-0aaa', 'stopping')] }] })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-0aaa', 'stopping')] }] })
      .resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'stopped')] }] });
    await make().stop('i-0aaa');
    assert.deepEqual(ec2.commandCalls(StopInstancesCommand).map((c) => c.args[0].input), [{ InstanceIds: ['i-0aaa'] }]);
    assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input), Array(3).fill({ InstanceIds: ['i-0aaa'] }));
  });

  it('stop gives up with CLOUD_TIMEOUT (retriable) when the instance never reaches stopped', async () => {
    ec2.on(StopInstancesCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'stopping')] }] });
    const err = await rejection(make({ stateTimeoutMs: 60 }).stop('i-0aaa'));
    assert.equal(err.code, 'CLOUD_TIMEOUT');
    assert.equal(err.retriable, true);
    assert.match(err.message, /still stopping, not stopped/);
  });

  it('start sends StartInstances and waits for running; a start EC2 could not place is CLOUD_CAPACITY', async () => {
    ec2.on(StartInstancesCommand).resolves({});
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-0aaa', 'pending')] }] })
      .resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'running')] }] });
    await make().start('i-0aaa');
    assert.deepEqual(ec2.commandCalls(StartInstancesCommand)[0]!.args[0].input, { InstanceIds: ['i-0aaa'] });
    assert.equal(ec2.commandCalls(DescribeInstancesCommand).length, 2);

    ec2.reset();
    ec2.on(StartInstancesCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [instance('i-0aaa', 'stopped', { StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Insufficient capacity.' } })] }],
    });
    const err = await rejection(make().start('i-0aaa'));
    assert.equal(err.code, 'CLOUD_CAPACITY');
    assert.equal(err.retriable, true);
  });

  it('changes the type of a stopped instance with ModifyInstanceAttribute', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'stopped')] }] });
    ec2.on(ModifyInstanceAttributeCommand).resolves({});
    await make().changeInstanceType('i-0aaa', 'm7i.xlarge');
    assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input, { InstanceIds: ['i-0aaa'] });
    assert.deepEqual(ec2.commandCalls(ModifyInstanceAttributeCommand).map((c) => c.args[0].input), [{ InstanceId: 'i-0aaa', InstanceType: { Value: 'm7i.xlarge' } }]);
  });

  it('refuses to change the type of an instance that is not stopped (CLOUD_INSTANCE_NOT_STOPPED) and sends no ModifyInstanceAttribute', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'running')] }] });
    const running = await rejection(make().changeInstanceType('i-0aaa', 'm7i.xlarge'));
    assert.equal(running.code, 'CLOUD_INSTANCE_NOT_STOPPED');
    assert.equal(running.retriable, false);
    assert.match(running.message, /i-0aaa is running: .*stop it first/);
    assert.deepEqual(running.details, { instanceId: 'i-0aaa', state: 'running' });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'stopping')] }] });
    const stopping = await rejection(make().changeInstanceType('i-0aaa', 'm7i.xlarge'));
    assert.equal(stopping.code, 'CLOUD_INSTANCE_NOT_STOPPED');
    assert.equal(stopping.retriable, true, 'a stopping instance will be stopped soon');
    assert.equal(ec2.commandCalls(ModifyInstanceAttributeCommand).length, 0);

    // Started by someone between the check and the change: EC2's IncorrectInstanceState.
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-0aaa', 'stopped')] }] });
    ec2.on(ModifyInstanceAttributeCommand).rejects(awsError('IncorrectInstanceState', 400, 'The instance i-0aaa is not in the stopped state.'));
    const raced = await rejection(make().changeInstanceType('i-0aaa', 'm7i.xlarge'));
    assert.equal(raced.code, 'CLOUD_INSTANCE_NOT_STOPPED');
  });

  it('terminate sends TerminateInstances', async () => {
    ec2.on(TerminateInstancesCommand).resolves({ TerminatingInstances: [{ InstanceId: 'i-0aaa', CurrentState: { Name: 'shutting-down' } }] });
    await make().terminate('i-0aaa');
    assert.deepEqual(ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input), [{ InstanceIds: ['i-0aaa'] }]);
  });

  it('describe follows NextToken over every page; without ids it asks only for instances tagged novacron:vm-id', async () => {
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1', 'running'), instance('i-2', 'stopped')] }], NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-3', 'running', { InstanceLifecycle: 'spot' })] }, { Instances: [] }], NextToken: 'page-3' })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-4', 'pending')] }] });
    const got = await make().describe();
    const filter = { Filters: [{ Name: 'tag-key', Values: [VM_ID_TAG] }], MaxResults: 1000 };
    assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input), [filter, { ...filter, NextToken: 'page-2' }, { ...filter, NextToken: 'page-3' }]);
    assert.deepEqual(got.map((i) => [i.instanceId, i.state, i.pricing]), [['i-1', 'running', 'on-demand'], ['i-2', 'stopped', 'on-demand'], ['i-3', 'running', 'spot'], ['i-4', 'pending', 'on-demand']]);
  });

  it('describe with ids sends exactly those ids (no MaxResults, which EC2 refuses beside them); an empty list sends nothing', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-1', 'running'), instance('i-2', 'stopped')] }] });
    const got = await make().describe(['i-1', 'i-2']);
    assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input), [{ InstanceIds: ['i-1', 'i-2'] }]);
    assert.equal(got.length, 2);
    ec2.resetHistory();
    assert.deepEqual(await make().describe([]), []);
    assert.equal(ec2.commandCalls(DescribeInstancesCommand).length, 0, 'an empty InstanceIds would list the whole account');
  });

  it('maps throttling to CLOUD_THROTTLED (retriable), once: the adapter adds no retry loop on top of the SDK', async () => {
    for (const name of ['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'EC2ThrottledException', 'TooManyRequestsException']) {
      ec2.reset();
      ec2.on(TerminateInstancesCommand).rejects(awsError(name, 503, 'Request limit exceeded.'));
      const err = await rejection(make().terminate('i-0aaa'));
      assert.equal(err.code, 'CLOUD_THROTTLED', name);
      assert.equal(err.retriable, true);
      assert.equal(ec2.commandCalls(TerminateInstancesCommand).length, 1, 'retries are the SDK\'s job');
      assert.deepEqual(err.details, { operation: 'TerminateInstances', instanceId: 'i-0aaa', awsCode: name, httpStatus: 503, requestId: 'req-0001', attempts: 3, totalRetryDelayMs: 1500 });
    }
  });

  it('maps capacity errors to CLOUD_CAPACITY (retriable later or elsewhere), with the offer that failed', async () => {
    for (const name of ['InsufficientInstanceCapacity', 'InsufficientCapacity', 'InsufficientHostCapacity', 'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'VcpuLimitExceeded']) {
      ec2.reset();
      ec2.on(RunInstancesCommand).rejects(awsError(name, name === 'InsufficientInstanceCapacity' ? 500 : 400));
      const err = await rejection(make().launch({ vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-1', pricing: 'spot', zone: 'us-east-1b' }));
      assert.equal(err.code, 'CLOUD_CAPACITY', name);
      assert.equal(err.retriable, true);
      assert.equal(err.details?.instanceType, 'm7i.large');
      assert.equal(err.details?.pricing, 'spot');
      assert.equal(err.details?.zone, 'us-east-1b');
    }
  });

  it('maps auth errors to CLOUD_AUTH (not retriable), including an empty credential chain', async () => {
    const chainEmpty = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    for (const [err0, status] of [
      [awsError('AuthFailure', 401, 'AWS was not able to validate the provided access credentials'), 401],
      [awsError('UnauthorizedOperation', 403, 'You are not authorized to perform this operation.'), 403],
      [awsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.'), 403],
      [awsError('SignatureDoesNotMatch', 403), 403],
      [awsError('OptInRequired', 403), 403],
      [chainEmpty, undefined],
    ] as const) {
      ec2.reset();
      ec2.on(StopInstancesCommand).rejects(err0);
      const err = await rejection(make().stop('i-0aaa'));
      assert.equal(err.code, 'CLOUD_AUTH', err0.name);
      assert.equal(err.retriable, false);
      assert.equal(err.details?.httpStatus, status);
      assert.match(err.message, /check the AWS credentials/);
      assert.equal(ec2.commandCalls(DescribeInstancesCommand).length, 0, 'no wait after a failed stop');
    }
  });

  it('maps bad input to CLOUD_INVALID_REQUEST (not retriable), and refuses empty fields before calling EC2', async () => {
    for (const name of ['InvalidParameterValue', 'InvalidAMIID.NotFound', 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed', 'UnsupportedOperation', 'MissingParameter']) {
      ec2.reset();
      ec2.on(RunInstancesCommand).rejects(awsError(name, 400));
      const err = await rejection(make().launch({ vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-1', pricing: 'on-demand' }));
      assert.equal(err.code, 'CLOUD_INVALID_REQUEST', name);
      assert.equal(err.retriable, false);
      assert.equal(err.details?.awsCode, name);
    }
    ec2.reset();
    for (const bad of [
      { vmId: '', instanceType: 'm7i.large', imageId: 'ami-1', pricing: 'on-demand' as const },
      { vmId: 'vm-1', instanceType: '', imageId: 'ami-1', pricing: 'on-demand' as const },
      { vmId: 'vm-1', instanceType: 'm7i.large', imageId: '', pricing: 'on-demand' as const },
      { vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-1', pricing: 'reserved' as never },
    ]) {
      assert.equal((await rejection(make().launch(bad))).code, 'CLOUD_INVALID_REQUEST');
    }
    assert.equal((await rejection(make().changeInstanceType('i-0aaa', ''))).code, 'CLOUD_INVALID_REQUEST');
    assert.equal((await rejection(make().stop(''))).code, 'CLOUD_INVALID_REQUEST');
    assert.equal(ec2.send.callCount, 0);
  });

  it('maps 5xx and network failures (after the SDK retried them) to CLOUD_UNREACHABLE (retriable)', async () => {
    for (const err0 of [
      awsError('InternalError', 500, 'An internal error has occurred'),
      awsError('Unavailable', 503, 'The server is overloaded'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }),
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    ]) {
      ec2.reset();
      ec2.on(DescribeInstancesCommand).rejects(err0);
      const err = await rejection(make().describe(['i-1']));
      assert.equal(err.code, 'CLOUD_UNREACHABLE', err0.message);
      assert.equal(err.retriable, true);
    }
  });

  it('never puts credentials in errors or logs', async () => {
    sink.lines.length = 0;
    ec2.on(RunInstancesCommand).rejects(awsError('AuthFailure', 401, `AWS was not able to validate the provided access credentials for ${ACCESS_KEY_ID} (secret ${SECRET})`));
    const err = await rejection(make().launch({ vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-1', pricing: 'on-demand' }));
    assert.equal(err.code, 'CLOUD_AUTH');
    assert.equal(err.cause, undefined, 'the SDK error (with its request and response) is not kept');
    const everything = [err.message, JSON.stringify(err.details), inspect(err, { depth: 10, showHidden: true }), ...sink.lines].join('\n');
    for (const secret of [ACCESS_KEY_ID, SECRET, SESSION_TOKEN]) assert.ok(!everything.includes(secret), `leaked ${secret.slice(0, 4)}…`);
    assert.match(err.message, /\[key id\]/);
    assert.ok(sink.lines.some((l) => l.includes('"code":"CLOUD_AUTH"')), 'the failure is logged');
  });

  it('maps errors it does not know by their fault: ec2ErrorToNova keeps NovaErrors as they are', () => {
    const nova = new NovaError('CLOUD_AUTH', 'x');
    assert.equal(ec2ErrorToNova(nova, { operation: 'X' }), nova);
    assert.equal(ec2ErrorToNova(awsError('SomethingNew', 400), { operation: 'X' }).code, 'CLOUD_INVALID_REQUEST');
    assert.equal(ec2ErrorToNova(awsError('SomethingNew', 502), { operation: 'X' }).code, 'CLOUD_UNREACHABLE');
  });
});

// ---- the real SDK stack against a local EC2 endpoint ------------------------------------------

interface Seen {
  action: string;
  body: URLSearchParams;
  attemptHeader: string;
  invocationId: string;
  signed: boolean;
}

function xmlError(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-local</RequestID></Response>`;
}

const RUN_OK = `<?xml version="1.0" encoding="UTF-8"?>
<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-ok</requestId><reservationId>r-1</reservationId><ownerId>123456789012</ownerId>
<instancesSet><item><instanceId>i-0local</instanceId><instanceType>m7i.large</instanceType><instanceState><code>0</code><name>pending</name></instanceState>
<placement><availabilityZone>us-east-1a</availabilityZone></placement><tagSet><item><key>novacron:vm-id</key><value>vm-1</value></item></tagSet></item></instancesSet></RunInstancesResponse>`;

describe('EC2 adapter (SDK boundary, no AWS): the SDK standard retry strategy, against a local EC2 endpoint', () => {
  let server: Server;
  let endpoint = '';
  let seen: Seen[] = [];
  let answer: (n: number) => { status: number; body: string } = () => ({ status: 200, body: RUN_OK });

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = new URLSearchParams(raw);
        seen.push({
          action: body.get('Action') ?? '',
          body,
          attemptHeader: String(req.headers['amz-sdk-request'] ?? ''),
          invocationId: String(req.headers['amz-sdk-invocation-id'] ?? ''),
          signed: String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential='),
        });
        const { status, body: out } = answer(seen.length);
        res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' });
        res.end(out);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    seen = [];
  });

  const launch = (o: Partial<Ec2Options> = {}) =>
    new Ec2CloudProvider({ region: 'us-east-1', endpoint, credentials, ...o }).launch({ vmId: 'vm-1', instanceType: 'm7i.large', imageId: 'ami-123', pricing: 'on-demand' });

  it('a throttled RunInstances is retried by the SDK (backoff, same ClientToken, same invocation) and then succeeds', async () => {
    answer = (n) => (n <= 2 ? { status: 503, body: xmlError('RequestLimitExceeded', 'Request limit exceeded.') } : { status: 200, body: RUN_OK });
    const got = await launch();
    assert.equal(got.instanceId, 'i-0local');
    assert.deepEqual(seen.map((s) => s.attemptHeader), ['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
    assert.equal(new Set(seen.map((s) => s.invocationId)).size, 1, 'one logical call');
    assert.deepEqual(seen.map((s) => s.body.get('ClientToken')), Array(3).fill(clientTokenFor('vm-1')));
    assert.deepEqual(seen.map((s) => s.body.toString()), Array(3).fill(seen[0]!.body.toString()), 'the retried request is byte-identical');
    assert.ok(seen.every((s) => s.signed));
    // What the SDK serialised for our RunInstances input.
    const b = seen[0]!.body;
    assert.deepEqual(
      [b.get('Action'), b.get('ImageId'), b.get('InstanceType'), b.get('MinCount'), b.get('MaxCount'), b.get('TagSpecification.1.ResourceType'), b.get('TagSpecification.1.Tag.1.Key'), b.get('TagSpecification.1.Tag.1.Value'), b.has('InstanceMarketOptions.MarketType')],
      ['RunInstances', 'ami-123', 'm7i.large', '1', '1', 'instance', VM_ID_TAG, 'vm-1', false],
    );
  });

  it('throttling that outlasts maxAttempts surfaces as CLOUD_THROTTLED after exactly maxAttempts requests, with the backoff the SDK waited', async () => {
    answer = () => ({ status: 503, body: xmlError('RequestLimitExceeded', 'Request limit exceeded.') });
    const err = await rejection(launch({ maxAttempts: 2 }));
    assert.equal(seen.length, 2);
    assert.equal(err.code, 'CLOUD_THROTTLED');
    assert.equal(err.retriable, true);
    assert.equal(err.details?.attempts, 2);
    assert.equal(typeof err.details?.totalRetryDelayMs, 'number');
  });

  it('AuthFailure is not retried: one request, CLOUD_AUTH, and no credential in the error', async () => {
    answer = () => ({ status: 401, body: xmlError('AuthFailure', 'AWS was not able to validate the provided access credentials') });
    const err = await rejection(launch());
    assert.equal(seen.length, 1);
    assert.equal(err.code, 'CLOUD_AUTH');
    assert.equal(err.retriable, false);
    const text = [err.message, JSON.stringify(err.details), inspect(err, { depth: 10, showHidden: true })].join('\n');
    for (const secret of [ACCESS_KEY_ID, SECRET, SESSION_TOKEN]) assert.ok(!text.includes(secret));
  });

  it('InsufficientInstanceCapacity (HTTP 500) is retried by the SDK as a 5xx, then surfaces as CLOUD_CAPACITY', async () => {
    answer = () => ({ status: 500, body: xmlError('InsufficientInstanceCapacity', 'We currently do not have sufficient m7i.large capacity in the Availability Zone you requested.') });
    const err = await rejection(launch());
    assert.equal(seen.length, 3);
    assert.equal(err.code, 'CLOUD_CAPACITY');
    assert.equal(err.retriable, true);
    assert.match(err.message, /InsufficientInstanceCapacity: We currently do not have sufficient m7i\.large capacity/);
  });

  it('an unreachable endpoint is CLOUD_UNREACHABLE (retriable) after the SDK retried the connection', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await rejection(launch({ endpoint: `http://127.0.0.1:${port}` }));
    assert.equal(err.code, 'CLOUD_UNREACHABLE');
    assert.equal(err.retriable, true);
    assert.equal(err.details?.attempts, 3);
  });

  it('createEc2CloudProvider (lazy SDK load) takes the region from the options or the SDK chain, and says how to set one when there is none', async () => {
    const saved = { region: process.env.AWS_REGION, def: process.env.AWS_DEFAULT_REGION, cfg: process.env.AWS_CONFIG_FILE, profile: process.env.AWS_PROFILE };
    try {
      delete process.env.AWS_DEFAULT_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = '/nonexistent/novacron-aws-config';
      process.env.AWS_REGION = 'eu-west-3';
      assert.equal((await createEc2CloudProvider({ credentials })).region, 'eu-west-3');
      assert.equal((await createEc2CloudProvider({ credentials, region: 'us-west-2' })).region, 'us-west-2');
      delete process.env.AWS_REGION;
      await assert.rejects(createEc2CloudProvider({ credentials }), (err) => hasCode(err, 'CONFIG_INVALID') && /set AWS_REGION/.test(err.message));
      assert.throws(() => new Ec2CloudProvider({ region: '' }), (err) => hasCode(err, 'CONFIG_INVALID'));
    } finally {
      for (const [k, v] of [['AWS_REGION', saved.region], ['AWS_DEFAULT_REGION', saved.def], ['AWS_CONFIG_FILE', saved.cfg], ['AWS_PROFILE', saved.profile]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
