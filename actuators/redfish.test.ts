import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { logSink, rejection } from '../test/support/capture.ts';
import { inspect } from 'node:util';
import { NovaError } from '../core/index.ts';
import { RedfishHostPower, type RedfishOptions } from './redfish.ts';

// A minimal Redfish BMC on node:http: one ComputerSystem, its Reset action, a session service.
// Every request is recorded (method, path, body, auth headers) so the tests assert what the
// adapter really sends over HTTP.

const USER = 'novacron-bmc';
const PASSWORD = 'S3cr3t-BMC-pa55';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
const SYSTEM = '/redfish/v1/Systems/437XR1138R2';
const RESET = `${SYSTEM}/Actions/ComputerSystem.Reset`;
const SESSIONS = '/redfish/v1/SessionService/Sessions';

interface Seen {
  method: string;
  path: string;
  body: unknown;
  authorization: string | undefined;
  token: string | undefined;
  odataVersion: string | undefined;
  contentType: string | undefined;
}

type Override = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang' | undefined;

class FakeBmc {
  server!: Server;
  url = '';
  seen: Seen[] = [];
  power = 'On';
  /** GETs of the system after a GracefulShutdown before it reports Off (Infinity: never). */
  offAfterPolls = 2;
  pollsSinceShutdown = -1;
  allowable: string[] | undefined = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart'];
  systems = [SYSTEM];
  tokens = new Set<string>();
  sessionCount = 0;
  /** Returns a canned answer for a request, before the emulation sees it. */
  override: (s: Seen, n: number) => Override = () => undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  reset(): void {
    this.seen = [];
    this.power = 'On';
    this.offAfterPolls = 2;
    this.pollsSinceShutdown = -1;
    this.allowable = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart'];
    this.systems = [SYSTEM];
    this.tokens.clear();
    this.sessionCount = 0;
    this.override = () => undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const h = (k: string) => (req.headers[k] === undefined ? undefined : String(req.headers[k]));
      const s: Seen = { method: req.method ?? '', path: req.url ?? '', body: raw ? JSON.parse(raw) : undefined, authorization: h('authorization'), token: h('x-auth-token'), odataVersion: h('odata-version'), contentType: h('content-type') };
      this.seen.push(s);
      const o = this.override(s, this.seen.length);
      if (o === 'hang') return;
      if (o !== undefined) return this.reply(res, o.status, o.body, o.headers);
      this.route(s, res);
    });
  }

  private reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, messageId: string, message: string): void {
    this.reply(res, status, { error: { code: `Base.1.8.${messageId}`, message: 'A general error has occurred.', '@Message.ExtendedInfo': [{ MessageId: `Base.1.8.${messageId}`, Message: message }] } });
  }

  private route(s: Seen, res: ServerResponse): void {
    if (s.method === 'POST' && s.path === SESSIONS) {
      const b = s.body as { UserName?: string; Password?: string };
      if (b.UserName !== USER || b.Password !== PASSWORD) return this.error(res, 401, 'NoValidSession', 'Invalid username or password.');
      const token = `tok-${++this.sessionCount}`;
      this.tokens.add(token);
      return this.reply(res, 201, { Id: String(this.sessionCount), UserName: USER }, { 'X-Auth-Token': token, Location: `${SESSIONS}/${this.sessionCount}` });
    }
    const authed = s.authorization === BASIC || (s.token !== undefined && this.tokens.has(s.token));
    if (!authed) return this.error(res, 401, 'NoValidSession', 'There is no valid session established with the implementation.');
    if (s.method === 'DELETE' && s.path.startsWith(`${SESSIONS}/`)) {
      if (s.token) this.tokens.delete(s.token);
      return this.reply(res, 204);
    }
    if (s.method === 'GET' && s.path === '/redfish/v1/Systems') {
      return this.reply(res, 200, { '@odata.id': '/redfish/v1/Systems', 'Members@odata.count': this.systems.length, Members: this.systems.map((id) => ({ '@odata.id': id })) });
    }
    if (s.method === 'GET' && s.path === SYSTEM) {
      if (this.pollsSinceShutdown >= 0 && ++this.pollsSinceShutdown > this.offAfterPolls) {
        this.power = 'Off';
        this.pollsSinceShutdown = -1;
      }
      const reset: Record<string, unknown> = { target: RESET };
      if (this.allowable) reset['ResetType@Redfish.AllowableValues'] = this.allowable;
      return this.reply(res, 200, { '@odata.id': SYSTEM, Id: '437XR1138R2', PowerState: this.power, Actions: { '#ComputerSystem.Reset': reset } });
    }
    if (s.method === 'POST' && s.path === RESET) {
      const type = (s.body as { ResetType?: string }).ResetType;
      if (type === 'GracefulShutdown') {
        if (this.power === 'On') {
          this.power = 'PoweringOff';
          this.pollsSinceShutdown = 0;
        }
      } else if (type === 'ForceOff') {
        this.power = 'Off';
        this.pollsSinceShutdown = -1;
      } else if (type === 'On') {
        this.power = 'On';
      } else {
        return this.error(res, 400, 'ActionParameterValueNotInList', `The value ${type} for the parameter ResetType is not in the list of acceptable values.`);
      }
      return this.reply(res, 204);
    }
    return this.error(res, 404, 'ResourceNotFound', `The requested resource ${s.path} was not found.`);
  }
}


const calls = (seen: Seen[]) => seen.map((s) => `${s.method} ${s.path}${s.body === undefined ? '' : ` ${JSON.stringify(s.body)}`}`);

describe('Redfish adapter (HTTP boundary, no BMC)', () => {
  const bmc = new FakeBmc();
  const sink = logSink();
  let adapter: RedfishHostPower | undefined;
  const make = (o: Partial<RedfishOptions> = {}) => {
    adapter = new RedfishHostPower({
      bmcUrls: { 'kvm-01': bmc.url },
      auth: { type: 'basic', username: USER, password: PASSWORD },
      systemId: '437XR1138R2',
      pollMs: 5,
      offTimeoutMs: 400,
      onTimeoutMs: 400,
      requestTimeoutMs: 1_000,
      logger: sink.logger,
      ...o,
    });
    return adapter;
  };

  before(() => bmc.start());
  after(() => bmc.stop());
  beforeEach(async () => {
    await adapter?.close();
    bmc.reset();
  });

  it('reads the state from GET /redfish/v1/Systems/{id} (PowerState) with basic auth and OData-Version', async () => {
    const p = make();
    assert.equal(await p.state('kvm-01'), 'on');
    bmc.power = 'Off';
    assert.equal(await p.state('kvm-01'), 'off');
    bmc.power = 'PoweringOn';
    assert.equal(await p.state('kvm-01'), 'unknown');
    assert.deepEqual(calls(bmc.seen), Array(3).fill(`GET ${SYSTEM}`));
    for (const s of bmc.seen) {
      assert.equal(s.authorization, BASIC);
      assert.equal(s.token, undefined);
      assert.equal(s.odataVersion, '4.0');
    }
  });

  it('powers off with GracefulShutdown, then polls until the BMC reports Off', async () => {
    await make().powerOff('kvm-01');
    assert.deepEqual(calls(bmc.seen), [
      `GET ${SYSTEM}`,
      `POST ${RESET} {"ResetType":"GracefulShutdown"}`,
      `GET ${SYSTEM}`, // PoweringOff
      `GET ${SYSTEM}`, // PoweringOff
      `GET ${SYSTEM}`, // Off
    ]);
    assert.equal(bmc.seen[1]!.contentType, 'application/json');
    assert.ok(bmc.seen.every((s) => s.authorization === BASIC));
    assert.equal(bmc.power, 'Off');
  });

  it('a host already Off gets no reset; a host already PoweringOff is only waited for', async () => {
    bmc.power = 'Off';
    await make().powerOff('kvm-01');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`]);
    bmc.seen = [];
    bmc.power = 'PoweringOff';
    bmc.pollsSinceShutdown = 0;
    bmc.offAfterPolls = 2;
    await make().powerOff('kvm-01');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`, `GET ${SYSTEM}`, `GET ${SYSTEM}`]);
  });

  it('powers on with ResetType On and waits for On; a host already On gets no reset', async () => {
    bmc.power = 'Off';
    await make().powerOn('kvm-01');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`, `POST ${RESET} {"ResetType":"On"}`, `GET ${SYSTEM}`]);
    bmc.seen = [];
    await make().powerOn('kvm-01');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`]);
  });

  it('a BMC that never reaches Off: HOST_POWER_TIMEOUT after offTimeoutMs, and no ForceOff unless configured', async () => {
    bmc.offAfterPolls = Infinity;
    const started = Date.now();
    const err = await rejection(make({ offTimeoutMs: 150 }).powerOff('kvm-01'));
    assert.ok(Date.now() - started >= 150);
    assert.equal(err.code, 'HOST_POWER_TIMEOUT');
    assert.equal(err.retriable, false);
    assert.match(err.message, /kvm-01 was not Off .* after a graceful shutdown: .*enable forceOff/);
    assert.ok(!calls(bmc.seen).some((c) => c.includes('ForceOff')));
    assert.equal(calls(bmc.seen).filter((c) => c.startsWith('POST')).length, 1);
  });

  it('with forceOff configured, a graceful shutdown that times out is followed by ForceOff', async () => {
    bmc.offAfterPolls = Infinity;
    await make({ offTimeoutMs: 100, forceOff: true }).powerOff('kvm-01');
    const posts = calls(bmc.seen).filter((c) => c.startsWith('POST'));
    assert.deepEqual(posts, [`POST ${RESET} {"ResetType":"GracefulShutdown"}`, `POST ${RESET} {"ResetType":"ForceOff"}`]);
    assert.equal(calls(bmc.seen).at(-1), `GET ${SYSTEM}`);
    assert.equal(bmc.power, 'Off');
  });

  it('a BMC that does not offer GracefulShutdown: refused without forceOff, ForceOff at once with it', async () => {
    bmc.allowable = ['On', 'ForceOff'];
    const err = await rejection(make().powerOff('kvm-01'));
    assert.equal(err.code, 'HOST_POWER_REQUEST_FAILED');
    assert.match(err.message, /does not offer ResetType GracefulShutdown/);
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`]);
    bmc.seen = [];
    await make({ forceOff: true }).powerOff('kvm-01');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`, `POST ${RESET} {"ResetType":"ForceOff"}`, `GET ${SYSTEM}`]);
  });

  it('401 is HOST_POWER_AUTH (not retriable), and neither the error nor the logs carry the credentials', async () => {
    sink.lines.length = 0;
    bmc.override = () => ({ status: 401, body: { error: { code: 'Base.1.8.NoValidSession', message: `Login failed for ${USER} with password ${PASSWORD}` } } });
    const err = await rejection(make().powerOff('kvm-01'));
    assert.equal(err.code, 'HOST_POWER_AUTH');
    assert.equal(err.retriable, false);
    assert.equal(err.details?.status, 401);
    assert.equal(bmc.seen.length, 1, 'nothing after a refused login');
    assert.equal(bmc.seen[0]!.authorization, BASIC, 'the auth header was sent');
    const everything = [err.message, JSON.stringify(err.details), inspect(err, { depth: 10, showHidden: true }), ...sink.lines].join('\n');
    for (const secret of [PASSWORD, BASIC.slice('Basic '.length)]) assert.ok(!everything.includes(secret), 'credential leaked');
    // Wrong password through the session service: the login itself is refused.
    bmc.override = () => undefined;
    bmc.seen = [];
    const session = await rejection(make({ auth: { type: 'session', username: USER, password: 'wrong' } }).state('kvm-01'));
    assert.equal(session.code, 'HOST_POWER_AUTH');
    assert.deepEqual(calls(bmc.seen), [`POST ${SESSIONS} {"UserName":"${USER}","Password":"wrong"}`]);
    assert.ok(!inspect(session, { depth: 10 }).includes('wrong'));
  });

  it('session auth: one login (UserName/Password), X-Auth-Token on every request and no Authorization; an expired token logs in again once; close() logs out', async () => {
    const p = make({ auth: { type: 'session', username: USER, password: PASSWORD } });
    await p.powerOff('kvm-01');
    assert.deepEqual(calls(bmc.seen).slice(0, 3), [`POST ${SESSIONS} {"UserName":"${USER}","Password":"${PASSWORD}"}`, `GET ${SYSTEM}`, `POST ${RESET} {"ResetType":"GracefulShutdown"}`]);
    assert.equal(bmc.sessionCount, 1);
    for (const s of bmc.seen.slice(1)) {
      assert.equal(s.token, 'tok-1');
      assert.equal(s.authorization, undefined);
    }
    bmc.tokens.clear(); // the BMC dropped the session
    bmc.seen = [];
    assert.equal(await p.state('kvm-01'), 'off');
    assert.deepEqual(calls(bmc.seen), [`GET ${SYSTEM}`, `POST ${SESSIONS} {"UserName":"${USER}","Password":"${PASSWORD}"}`, `GET ${SYSTEM}`]);
    assert.deepEqual(bmc.seen.map((s) => s.token), ['tok-1', undefined, 'tok-2']);
    bmc.seen = [];
    await p.close();
    assert.deepEqual(bmc.seen.map((s) => [s.method, s.path, s.token]), [['DELETE', `${SESSIONS}/2`, 'tok-2']]);
    assert.equal(bmc.tokens.size, 0);
  });

  it('503 is HOST_POWER_UNREACHABLE (retriable); so are a BMC that does not answer in time and one that refuses connections', async () => {
    bmc.override = () => ({ status: 503, body: { error: { code: 'Base.1.8.ServiceTemporarilyUnavailable', message: 'The service is temporarily unavailable.' } } });
    const busy = await rejection(make().powerOn('kvm-01'));
    assert.equal(busy.code, 'HOST_POWER_UNREACHABLE');
    assert.equal(busy.retriable, true);
    assert.deepEqual(busy.details, { hostId: 'kvm-01', bmc: bmc.url, method: 'GET', path: SYSTEM, status: 503, redfishMessage: 'The service is temporarily unavailable.' });

    bmc.override = () => 'hang';
    const started = Date.now();
    const slow = await rejection(make({ requestTimeoutMs: 150 }).state('kvm-01'));
    assert.ok(Date.now() - started < 1_000);
    assert.equal(slow.code, 'HOST_POWER_UNREACHABLE');
    assert.equal(slow.retriable, true);
    assert.match(slow.message, /did not answer GET .* within 150 ms/);

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await rejection(make({ bmcUrls: { 'kvm-01': `http://127.0.0.1:${port}` } }).state('kvm-01'));
    assert.equal(refused.code, 'HOST_POWER_UNREACHABLE');
    assert.equal(refused.details?.error, 'ECONNREFUSED');
  });

  it('a BMC busy (503) for a moment while the host powers off is waited out', async () => {
    bmc.override = (s, n) => (s.method === 'GET' && (n === 3 || n === 4) ? { status: 503 } : undefined);
    await make().powerOff('kvm-01');
    assert.equal(bmc.power, 'Off');
  });

  it('429 is HOST_POWER_THROTTLED (retriable) with Retry-After; another 4xx is HOST_POWER_REQUEST_FAILED with the BMC message', async () => {
    bmc.override = () => ({ status: 429, headers: { 'Retry-After': '30' } });
    const throttled = await rejection(make().state('kvm-01'));
    assert.equal(throttled.code, 'HOST_POWER_THROTTLED');
    assert.equal(throttled.retriable, true);
    assert.equal(throttled.details?.retryAfter, '30');
    bmc.override = () => undefined;
    const missing = await rejection(make({ systemId: 'nope' }).state('kvm-01'));
    assert.equal(missing.code, 'HOST_POWER_REQUEST_FAILED');
    assert.equal(missing.retriable, false);
    assert.match(missing.message, /HTTP 404 .*\/redfish\/v1\/Systems\/nope was not found.*check the BMC URL and systemId/);
  });

  it('BMC URL from the map or the template; an unknown host, a host id unfit for a URL, and URLs with credentials are refused', async () => {
    const port = new URL(bmc.url).port;
    const t = make({ bmcUrls: undefined, bmcUrlTemplate: `http://{host}:${port}` });
    assert.equal(await t.state('127.0.0.1'), 'on');
    for (const bad of ['evil.example@127.0.0.1', '127.0.0.1:1/x', '']) {
      assert.equal((await rejection(t.state(bad))).code, 'HOST_POWER_UNKNOWN_HOST', bad);
    }
    assert.equal((await rejection(make().state('kvm-99'))).code, 'HOST_POWER_UNKNOWN_HOST');
    assert.throws(() => make({ bmcUrls: { a: `http://root:calvin@127.0.0.1:${port}` } }), (err) => err instanceof NovaError && err.code === 'CONFIG_INVALID' && !err.message.includes('calvin'));
    assert.throws(() => make({ bmcUrls: undefined, bmcUrlTemplate: 'https://bmc.example' }), /no \{host\} placeholder/);
    assert.throws(() => make({ bmcUrls: undefined }), /needs bmcUrls/);
  });

  it('without a systemId, finds the only system once through GET /redfish/v1/Systems; several systems ask for a systemId', async () => {
    const p = make({ systemId: undefined });
    assert.equal(await p.state('kvm-01'), 'on');
    assert.equal(await p.state('kvm-01'), 'on');
    assert.deepEqual(calls(bmc.seen), ['GET /redfish/v1/Systems', `GET ${SYSTEM}`, `GET ${SYSTEM}`]);
    bmc.systems = [SYSTEM, '/redfish/v1/Systems/2'];
    const err = await rejection(make({ systemId: undefined }).state('kvm-01'));
    assert.equal(err.code, 'HOST_POWER_REQUEST_FAILED');
    assert.match(err.message, /lists 2 systems: configure its systemId/);
  });

  it('uses the injected fetch for every request', async () => {
    const urls: string[] = [];
    const recording: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    bmc.power = 'Off';
    await make({ fetch: recording }).powerOn('kvm-01');
    assert.deepEqual(urls, [`${bmc.url}${SYSTEM}`, `${bmc.url}${RESET}`, `${bmc.url}${SYSTEM}`]);
  });
});
