import { setTimeout as sleep } from 'node:timers/promises';
import { NovaError, type Logger } from '../core/index.ts';
import type { HostPower, PowerState } from './host-power.ts';

/** How the adapter authenticates to a BMC: HTTP basic on every request, or a Redfish session (X-Auth-Token). */
export type RedfishAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'session'; username: string; password: string };

export interface RedfishOptions {
  /** BMC base URL per host id, e.g. { kvm-01: 'https://10.0.9.1' }; wins over the template. */
  bmcUrls?: Readonly<Record<string, string>>;
  /** BMC base URL derived from the host id, e.g. 'https://{host}-bmc.example.net'. */
  bmcUrlTemplate?: string;
  /** Credentials, the same for every BMC or per host. There is no default. */
  auth: RedfishAuth | ((hostId: string) => RedfishAuth);
  /** The ComputerSystem under /redfish/v1/Systems (one id for all, or per host); absent = the BMC's only system. */
  systemId?: string | Readonly<Record<string, string>>;
  /** How long to wait for Off after GracefulShutdown (default 5 min). */
  offTimeoutMs?: number;
  /** After a graceful shutdown that timed out, cut the power with ForceOff (default false: fail instead). */
  forceOff?: boolean;
  /** How long to wait for Off after ForceOff (default 60 s). */
  forceOffTimeoutMs?: number;
  /** How long to wait for On after ResetType On (default 2 min). */
  onTimeoutMs?: number;
  /** Interval between PowerState reads while waiting (default 5 s). */
  pollMs?: number;
  /** Limit of one HTTP request, body included (default 30 s). */
  requestTimeoutMs?: number;
  /** fetch to use (default: Node's global fetch, undici). */
  fetch?: typeof fetch;
  /**
   * undici Dispatcher for every request, e.g. `new Agent({ connect: { ca } })` (npm undici) to
   * trust the BMCs' own CA. Typed loosely: Node's global RequestInit type does not declare it.
   */
  dispatcher?: object;
  logger?: Logger;
}

interface Bmc {
  hostId: string;
  /** Origin plus optional path prefix, no trailing slash. */
  base: string;
  auth: RedfishAuth;
}

interface Session {
  token: string;
  location: string | undefined;
}

interface RedfishSystem {
  PowerState?: string;
  Actions?: Record<string, { target?: string; 'ResetType@Redfish.AllowableValues'?: unknown } | undefined>;
}

interface Reply {
  status: number;
  headers: Headers;
  json: unknown;
}

// Host ids go into a URL's host part: '@', ':' or '/' could send the credentials to another
// server (https://{host}.bmc with host "evil.example@x" → user info "evil.example").
const HOST_ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})$/;
const REDFISH_PATH = /^\/redfish\/v1\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/;

/**
 * HostPower through a server's BMC, DMTF Redfish: state from the ComputerSystem's PowerState,
 * off by ComputerSystem.Reset GracefulShutdown (ForceOff only if configured), on by ResetType On.
 * Errors are NovaErrors: HOST_POWER_AUTH, HOST_POWER_UNREACHABLE and HOST_POWER_THROTTLED
 * (retriable), HOST_POWER_TIMEOUT, HOST_POWER_REQUEST_FAILED, HOST_POWER_UNKNOWN_HOST.
 */
export class RedfishHostPower implements HostPower {
  private readonly fetchFn: typeof fetch;
  private readonly offTimeoutMs: number;
  private readonly forceOffTimeoutMs: number;
  private readonly onTimeoutMs: number;
  private readonly pollMs: number;
  private readonly requestTimeoutMs: number;
  private readonly log: Logger | undefined;
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly systemPaths = new Map<string, string>();
  private readonly warnedPlainHttp = new Set<string>();

  constructor(private readonly options: RedfishOptions) {
    if (options.bmcUrls === undefined && options.bmcUrlTemplate === undefined) {
      throw new NovaError('CONFIG_INVALID', 'the Redfish adapter needs bmcUrls (host id → BMC URL) or bmcUrlTemplate (with {host})');
    }
    if (options.bmcUrlTemplate !== undefined) {
      if (!options.bmcUrlTemplate.includes('{host}')) throw new NovaError('CONFIG_INVALID', `BMC URL template "${options.bmcUrlTemplate}" has no {host} placeholder`);
      checkBaseUrl(options.bmcUrlTemplate.replaceAll('{host}', 'host'), 'bmcUrlTemplate');
    }
    for (const [hostId, url] of Object.entries(options.bmcUrls ?? {})) checkBaseUrl(url, `bmcUrls["${hostId}"]`);
    if (options.auth === undefined) throw new NovaError('CONFIG_INVALID', 'the Redfish adapter needs auth (basic or session credentials); there is no default');
    this.fetchFn = options.fetch ?? fetch;
    this.offTimeoutMs = options.offTimeoutMs ?? 5 * 60_000;
    this.forceOffTimeoutMs = options.forceOffTimeoutMs ?? 60_000;
    this.onTimeoutMs = options.onTimeoutMs ?? 2 * 60_000;
    this.pollMs = options.pollMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.log = options.logger?.child({ component: 'redfish' });
  }

  async state(hostId: string): Promise<PowerState> {
    const bmc = this.bmc(hostId);
    return toPowerState((await this.system(bmc)).system.PowerState);
  }

  async powerOff(hostId: string): Promise<void> {
    const bmc = this.bmc(hostId);
    const { system, path } = await this.system(bmc);
    if (system.PowerState === 'Off') {
      this.log?.info({ hostId }, 'already off');
      return;
    }
    const graceful = offers(system, 'GracefulShutdown');
    const poweringOff = system.PowerState === 'PoweringOff';
    if (!poweringOff && !graceful && !this.options.forceOff) {
      throw new NovaError('HOST_POWER_REQUEST_FAILED', `the BMC of host ${hostId} does not offer ResetType GracefulShutdown: shut the host down another way, or enable forceOff`, {
        details: { hostId, allowed: allowedResetTypes(system) },
      });
    }
    if (poweringOff || graceful) {
      if (!poweringOff) await this.reset(bmc, system, path, 'GracefulShutdown');
      if (await this.waitFor(bmc, path, 'Off', this.offTimeoutMs)) return;
      if (!this.options.forceOff) {
        throw new NovaError(
          'HOST_POWER_TIMEOUT',
          `host ${hostId} was not Off ${Math.round(this.offTimeoutMs / 1000)} s after a graceful shutdown: its OS may be hung or ignore ACPI; check it, or enable forceOff`,
          { details: { hostId, timeoutMs: this.offTimeoutMs } },
        );
      }
    }
    this.log?.warn({ hostId }, graceful ? 'graceful shutdown timed out: ForceOff' : 'no GracefulShutdown offered: ForceOff');
    await this.reset(bmc, system, path, 'ForceOff');
    if (await this.waitFor(bmc, path, 'Off', this.forceOffTimeoutMs)) return;
    throw new NovaError('HOST_POWER_TIMEOUT', `host ${hostId} was not Off ${Math.round(this.forceOffTimeoutMs / 1000)} s after ForceOff: check its BMC and power supply`, {
      details: { hostId, timeoutMs: this.forceOffTimeoutMs, forced: true },
    });
  }

  async powerOn(hostId: string): Promise<void> {
    const bmc = this.bmc(hostId);
    const { system, path } = await this.system(bmc);
    if (system.PowerState === 'On') {
      this.log?.info({ hostId }, 'already on');
      return;
    }
    if (system.PowerState !== 'PoweringOn') await this.reset(bmc, system, path, 'On');
    if (await this.waitFor(bmc, path, 'On', this.onTimeoutMs)) return;
    throw new NovaError('HOST_POWER_TIMEOUT', `host ${hostId} was not On ${Math.round(this.onTimeoutMs / 1000)} s after ResetType On: check its BMC and power supply`, {
      details: { hostId, timeoutMs: this.onTimeoutMs },
    });
  }

  /** Logs out of every Redfish session this adapter opened (best effort). */
  async close(): Promise<void> {
    const open = [...this.sessions.entries()];
    this.sessions.clear();
    await Promise.all(
      open.map(async ([base, pending]) => {
        try {
          const s = await pending;
          if (s.location === undefined) return;
          await this.fetchFn(base + s.location, { method: 'DELETE', headers: { 'X-Auth-Token': s.token, 'OData-Version': '4.0' }, signal: AbortSignal.timeout(this.requestTimeoutMs), redirect: 'manual', ...this.dispatcher() });
        } catch {
          // The BMC expires idle sessions itself.
        }
      }),
    );
  }

  // ---- resources -------------------------------------------------------------------------

  private bmc(hostId: string): Bmc {
    const mapped = this.options.bmcUrls?.[hostId];
    let url: string;
    if (mapped !== undefined) {
      url = mapped;
    } else if (this.options.bmcUrlTemplate !== undefined) {
      if (!HOST_ID.test(hostId)) {
        throw new NovaError('HOST_POWER_UNKNOWN_HOST', `host id "${hostId}" cannot go into a BMC URL: use letters, digits, . _ - only, or list it in bmcUrls`, { details: { hostId } });
      }
      url = this.options.bmcUrlTemplate.replaceAll('{host}', hostId);
    } else {
      throw new NovaError('HOST_POWER_UNKNOWN_HOST', `no BMC URL for host ${hostId}: add it to bmcUrls`, { details: { hostId } });
    }
    const base = checkBaseUrl(url, `BMC URL of host ${hostId}`);
    if (base.startsWith('http:') && !this.warnedPlainHttp.has(base)) {
      this.warnedPlainHttp.add(base);
      this.log?.warn({ hostId, bmc: base }, 'BMC over plain HTTP: credentials cross the network unencrypted');
    }
    const auth = typeof this.options.auth === 'function' ? this.options.auth(hostId) : this.options.auth;
    return { hostId, base, auth };
  }

  /** The host's ComputerSystem resource and its path (discovered once when no systemId is configured). */
  private async system(bmc: Bmc): Promise<{ system: RedfishSystem; path: string }> {
    const path = await this.systemPath(bmc);
    const reply = await this.request(bmc, 'GET', path);
    const system = reply.json as RedfishSystem | null;
    if (system === null || typeof system !== 'object') throw badReply(bmc, path, 'no ComputerSystem object');
    return { system, path };
  }

  private async systemPath(bmc: Bmc): Promise<string> {
    const configured = this.options.systemId;
    const id = typeof configured === 'string' ? configured : configured?.[bmc.hostId];
    if (id !== undefined) return `/redfish/v1/Systems/${encodeURIComponent(id)}`;
    const cached = this.systemPaths.get(bmc.base);
    if (cached !== undefined) return cached;
    const reply = await this.request(bmc, 'GET', '/redfish/v1/Systems');
    const members = (reply.json as { Members?: { '@odata.id'?: unknown }[] } | null)?.Members;
    if (!Array.isArray(members) || members.length !== 1) {
      throw new NovaError('HOST_POWER_REQUEST_FAILED', `the BMC of host ${bmc.hostId} lists ${Array.isArray(members) ? members.length : 'no'} systems: configure its systemId`, {
        details: { hostId: bmc.hostId, members: Array.isArray(members) ? members.map((m) => m['@odata.id']) : null },
      });
    }
    const odataId = members[0]?.['@odata.id'];
    if (typeof odataId !== 'string' || !REDFISH_PATH.test(odataId)) throw badReply(bmc, '/redfish/v1/Systems', 'a system member without a /redfish/v1/ path');
    const path = odataId.replace(/\/$/, '');
    this.systemPaths.set(bmc.base, path);
    return path;
  }

  private async reset(bmc: Bmc, system: RedfishSystem, systemPath: string, resetType: 'GracefulShutdown' | 'ForceOff' | 'On'): Promise<void> {
    if (!offers(system, resetType)) {
      throw new NovaError('HOST_POWER_REQUEST_FAILED', `the BMC of host ${bmc.hostId} does not offer ResetType ${resetType} (it offers ${allowedResetTypes(system)?.join(', ')})`, {
        details: { hostId: bmc.hostId, resetType, allowed: allowedResetTypes(system) },
      });
    }
    // The action's target as the BMC advertises it, when it is a Redfish path on the same BMC
    // (never an absolute URL: the credentials go with the request).
    const advertised = system.Actions?.['#ComputerSystem.Reset']?.target;
    const target = typeof advertised === 'string' && REDFISH_PATH.test(advertised) ? advertised : `${systemPath}/Actions/ComputerSystem.Reset`;
    await this.request(bmc, 'POST', target, { ResetType: resetType });
    this.log?.info({ hostId: bmc.hostId, resetType }, 'reset requested');
  }

  /** Polls PowerState until `want`; true when reached, false at the deadline. Retriable errors meanwhile are waited out. */
  private async waitFor(bmc: Bmc, path: string, want: 'On' | 'Off', timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await sleep(Math.max(0, Math.min(this.pollMs, deadline - Date.now())));
      try {
        const reply = await this.request(bmc, 'GET', path);
        if ((reply.json as RedfishSystem | null)?.PowerState === want) return true;
      } catch (err) {
        // BMCs often stop answering for a moment while the host changes power state.
        if (!(err instanceof NovaError && err.retriable)) throw err;
        this.log?.debug({ hostId: bmc.hostId, code: err.code }, 'BMC busy while waiting');
      }
      if (Date.now() >= deadline) return false;
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private dispatcher(): RequestInit {
    // undici's fetch takes `dispatcher` in its init; Node's RequestInit type leaves it out.
    return this.options.dispatcher === undefined ? {} : ({ dispatcher: this.options.dispatcher } as RequestInit);
  }

  private async request(bmc: Bmc, method: 'GET' | 'POST', path: string, body?: unknown, retriedLogin = false): Promise<Reply> {
    const headers: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let session: Session | undefined;
    if (bmc.auth.type === 'basic') {
      headers.Authorization = `Basic ${Buffer.from(`${bmc.auth.username}:${bmc.auth.password}`).toString('base64')}`;
    } else {
      session = await this.session(bmc);
      headers['X-Auth-Token'] = session.token;
    }
    const reply = await this.send(bmc, method, path, headers, body);
    if (reply.status === 401 && session !== undefined && !retriedLogin) {
      // The session expired (BMCs drop idle ones) or the BMC restarted: log in again, once.
      const current = this.sessions.get(bmc.base);
      if (current !== undefined && (await current.catch(() => undefined)) === session) this.sessions.delete(bmc.base);
      return this.request(bmc, method, path, body, true);
    }
    if (reply.status < 200 || reply.status >= 300) throw this.httpError(bmc, method, path, reply);
    return reply;
  }

  private session(bmc: Bmc): Promise<Session> {
    let pending = this.sessions.get(bmc.base);
    if (pending === undefined) {
      pending = this.login(bmc);
      this.sessions.set(bmc.base, pending);
      pending.catch(() => this.sessions.delete(bmc.base));
    }
    return pending;
  }

  private async login(bmc: Bmc): Promise<Session> {
    const path = '/redfish/v1/SessionService/Sessions';
    const reply = await this.send(bmc, 'POST', path, { Accept: 'application/json', 'Content-Type': 'application/json', 'OData-Version': '4.0' }, {
      UserName: bmc.auth.username,
      Password: bmc.auth.password,
    });
    if (reply.status < 200 || reply.status >= 300) throw this.httpError(bmc, 'POST', path, reply);
    const token = reply.headers.get('x-auth-token');
    if (!token) throw badReply(bmc, path, 'a session without an X-Auth-Token header');
    const location = sameBmcPath(bmc, reply.headers.get('location'));
    this.log?.debug({ hostId: bmc.hostId }, 'Redfish session opened');
    return { token, location };
  }

  private async send(bmc: Bmc, method: string, path: string, headers: Record<string, string>, body: unknown): Promise<Reply> {
    try {
      const res = await this.fetchFn(bmc.base + path, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        // A redirect would carry X-Auth-Token elsewhere: refuse it (below) rather than follow.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.requestTimeoutMs),
        ...this.dispatcher(),
      });
      const text = await res.text();
      let json: unknown = null;
      if (text.trim() !== '') {
        try {
          json = JSON.parse(text);
        } catch {
          if (res.ok) throw badReply(bmc, path, 'a body that is not JSON');
        }
      }
      return { status: res.status, headers: res.headers, json };
    } catch (err) {
      if (err instanceof NovaError) throw err;
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const cause = (err as { cause?: { code?: string } } | undefined)?.cause?.code;
      throw new NovaError(
        'HOST_POWER_UNREACHABLE',
        timedOut
          ? `the BMC of host ${bmc.hostId} (${bmc.base}) did not answer ${method} ${path} within ${this.requestTimeoutMs} ms: retry later`
          : `the BMC of host ${bmc.hostId} (${bmc.base}) could not be reached${cause ? ` (${cause})` : ''}: check its network, then retry`,
        { retriable: true, details: { hostId: bmc.hostId, bmc: bmc.base, method, path, ...(cause && { error: cause }), ...(timedOut && { timeoutMs: this.requestTimeoutMs }) } },
      );
    }
  }

  private httpError(bmc: Bmc, method: string, path: string, reply: Reply): NovaError {
    const said = redact(redfishMessage(reply.json), bmc.auth);
    const details: Record<string, unknown> = { hostId: bmc.hostId, bmc: bmc.base, method, path, status: reply.status };
    if (said) details.redfishMessage = said;
    const what = `the BMC of host ${bmc.hostId} answered ${method} ${path} with HTTP ${reply.status}${said ? ` (${said})` : ''}`;
    const s = reply.status;
    if (s === 401 || s === 403) {
      return new NovaError('HOST_POWER_AUTH', `${what}: check the BMC user, password and its privileges (ConfigureComponents for resets)`, { details });
    }
    if (s === 429) {
      const retryAfter = reply.headers.get('retry-after');
      if (retryAfter) details.retryAfter = retryAfter;
      return new NovaError('HOST_POWER_THROTTLED', `${what}: the BMC is rate-limiting, retry later`, { retriable: true, details });
    }
    if (s === 502 || s === 503 || s === 504) {
      return new NovaError('HOST_POWER_UNREACHABLE', `${what}: the BMC is busy or restarting, retry later`, { retriable: true, details });
    }
    if (s >= 300 && s < 400) {
      return new NovaError('HOST_POWER_REQUEST_FAILED', `${what}: the BMC redirects (to ${reply.headers.get('location') ?? '?'}); configure its final URL`, { details });
    }
    if (s === 404) return new NovaError('HOST_POWER_REQUEST_FAILED', `${what}: check the BMC URL and systemId`, { details });
    return new NovaError('HOST_POWER_REQUEST_FAILED', `${what}: see the BMC's message`, { details });
  }
}

function checkBaseUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NovaError('CONFIG_INVALID', `${what} "${url}" is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new NovaError('CONFIG_INVALID', `${what} must be https:// (or http://), not ${u.protocol}`);
  // Credentials belong in `auth`: a URL's user info would end up in logs and error details.
  if (u.username !== '' || u.password !== '') throw new NovaError('CONFIG_INVALID', `${what} must not contain credentials: put them in the adapter's auth`);
  if (u.search !== '' || u.hash !== '') throw new NovaError('CONFIG_INVALID', `${what} must not have a query or fragment`);
  return u.origin + u.pathname.replace(/\/+$/, '');
}

function sameBmcPath(bmc: Bmc, location: string | null): string | undefined {
  if (!location) return undefined;
  try {
    const u = new URL(location, bmc.base + '/');
    const base = new URL(bmc.base + '/');
    if (u.origin !== base.origin) return undefined;
    const prefix = base.pathname.replace(/\/$/, '');
    const path = u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) : u.pathname;
    return REDFISH_PATH.test(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function toPowerState(s: string | undefined): PowerState {
  return s === 'On' ? 'on' : s === 'Off' ? 'off' : 'unknown';
}

function allowedResetTypes(system: RedfishSystem): string[] | undefined {
  const allowed = system.Actions?.['#ComputerSystem.Reset']?.['ResetType@Redfish.AllowableValues'];
  return Array.isArray(allowed) ? allowed.filter((v): v is string => typeof v === 'string') : undefined;
}

/** True unless the BMC lists its allowed ResetTypes and this one is not among them. */
function offers(system: RedfishSystem, resetType: string): boolean {
  const allowed = allowedResetTypes(system);
  return allowed === undefined || allowed.includes(resetType);
}

function badReply(bmc: Bmc, path: string, what: string): NovaError {
  return new NovaError('HOST_POWER_REQUEST_FAILED', `the BMC of host ${bmc.hostId} answered ${path} with ${what}: is ${bmc.base} a Redfish service?`, {
    details: { hostId: bmc.hostId, bmc: bmc.base, path },
  });
}

/** The message of a Redfish error body ({ error: { message, @Message.ExtendedInfo } }). */
function redfishMessage(json: unknown): string {
  const error = (json as { error?: { message?: unknown; '@Message.ExtendedInfo'?: { Message?: unknown }[] } } | null)?.error;
  if (!error) return '';
  const parts = [error.message, ...(Array.isArray(error['@Message.ExtendedInfo']) ? error['@Message.ExtendedInfo'].map((i) => i?.Message) : [])];
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' | ').slice(0, 300);
}

/** A BMC might echo what it was sent: never let the password (or the user's basic-auth blob) through. */
function redact(text: string, auth: RedfishAuth): string {
  let out = text;
  const basic = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
  for (const secret of [auth.password, basic]) if (secret.length >= 3) out = out.replaceAll(secret, '[redacted]');
  return out;
}
