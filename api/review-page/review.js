// The plan review page (served at /review). Plain DOM, no framework and no build step: the page
// holds no data of its own; everything comes from the /v1 routes with the key the user typed.
// Every value from the API is inserted as text (textContent), never as markup.
'use strict';

// sessionStorage only: the key lives as long as the tab and is never written to a URL or a cookie.
const KEY_SLOT = 'novacron.apiKey';
const PAGE = 10;
const ROLES = ['viewer', 'operator', 'admin'];
/** Plan states in which each review action is offered (the server decides anyway). */
const OFFER = { approve: ['proposed'], reject: ['proposed', 'approved'], execute: ['proposed', 'approved'] };
/** A shown plan in one of these states is re-read every few seconds, so its actions' progress shows. */
const LIVE_STATES = ['approved', 'running'];
const POLL_MS = 5000;

const $ = (id) => document.getElementById(id);
const state = { key: null, who: null, shownPlan: null, before: null, poll: null };

/** An error answer of the API: its code, HTTP status and message. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API with the signed-in key (or `key`); resolves to the JSON body, rejects with ApiError. */
async function api(path, { method = 'GET', body, key = state.key } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the API did not answer (${err.message})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    throw new ApiError(res.status, json?.code ?? `HTTP_${res.status}`, json?.message ?? text.slice(0, 300));
  }
  return json;
}

const describe = (err) => (err instanceof ApiError ? `${err.code} (HTTP ${err.status}): ${err.message}` : String(err?.message ?? err));

function showError(err, where = $('error')) {
  where.textContent = describe(err);
  where.hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

/** A new element with text and class names. */
function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.append(c);
    else td.textContent = c === null || c === undefined ? '—' : String(c);
    tr.append(td);
  }
  return tr;
}

const badge = (s) => el('span', s ?? 'not proposed', `state ${s ?? ''}`);
const pad = (n) => String(n).padStart(2, '0');
function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}
const hhmm = (ms) => { const d = new Date(ms); return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`; };
const num = (v, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—');
const pct = (v) => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '—');

function savingsText(plan) {
  const s = plan.expectedSavings;
  const parts = [];
  if (s) {
    parts.push(`${s.hosts ?? plan.hostsSaved} host${(s.hosts ?? plan.hostsSaved) === 1 ? '' : 's'}`);
    if (typeof s.watts === 'number') parts.push(`${num(s.watts, 0)} W`);
    if (typeof s.netKWh === 'number') parts.push(`${num(s.netKWh, 2)} kWh net over ${num(s.horizonHours, 0)} h`);
  } else {
    parts.push(`${plan.hostsSaved} host${plan.hostsSaved === 1 ? '' : 's'}`);
  }
  const money = plan.cost?.summary?.monthlySavings?.total;
  if (typeof money === 'number') parts.push(`${num(money, 2)} ${plan.cost.summary.currency ?? ''}/month`.trim());
  return parts.join(' · ');
}

function riskText(risk) {
  if (!risk) return 'not assessed';
  const parts = [];
  if (risk.peakCpu) parts.push(`peak CPU ${pct(risk.peakCpu.utilization)} (target ${pct(risk.peakCpu.target)})`);
  if (risk.peakMem) parts.push(`peak memory ${pct(risk.peakMem.utilization)} (target ${pct(risk.peakMem.target)})`);
  parts.push(`${risk.hostsOverloaded?.length ?? 0} overloaded`, `${risk.hostsOverTarget?.length ?? 0} over target`, `${risk.mustViolations ?? 0} must-rule violations`);
  if (risk.nonConverging?.length) parts.push(`${risk.nonConverging.length} migrations may not converge`);
  return parts.join(' · ');
}

// ---- sign-in ----

async function signIn(key) {
  const who = await api('/v1/whoami', { key });
  state.key = key;
  state.who = who;
  sessionStorage.setItem(KEY_SLOT, key);
  $('who-name').textContent = who.name;
  $('who-role').textContent = who.role;
  $('who').hidden = false;
  $('signin').hidden = true;
  $('app').hidden = false;
  await Promise.all([loadPlans(), loadVmIds()]);
}

function signOut(message) {
  sessionStorage.removeItem(KEY_SLOT);
  stopPolling();
  Object.assign(state, { key: null, who: null, shownPlan: null, before: null });
  $('who').hidden = true;
  $('app').hidden = true;
  $('plan').hidden = true;
  $('signin').hidden = false;
  clearError();
  if (message) showError(new Error(message), $('signin-error'));
}

const canReview = () => state.who && ROLES.indexOf(state.who.role) >= ROLES.indexOf('operator');

/** A 401 mid-session (key revoked or expired): back to sign-in, saying why. */
function handle(err) {
  if (err instanceof ApiError && err.status === 401) signOut(describe(err));
  else showError(err);
}

// ---- plans ----

async function loadPlans(append = false) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (append && state.before) query.set('before', String(state.before));
  try {
    const page = await api(`/v1/plans?${query}`);
    // The list route counts actions by state; hosts, savings and risk are in each plan's own document.
    const details = await Promise.all(page.plans.map((p) => api(`/v1/plans/${p.id}`).catch(() => null)));
    const body = $('plan-list').tBodies[0];
    if (!append) body.replaceChildren();
    page.plans.forEach((p, i) => {
      const d = details[i];
      const open = el('button', `#${p.id}`, 'link');
      open.type = 'button';
      open.dataset.planId = String(p.id);
      open.addEventListener('click', () => showPlan(p.id));
      const counts = Object.entries(p.actions).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ');
      const tr = row([open, badge(p.state), when(p.createdAt), d ? `${d.hostsBefore} → ${d.hostsAfter}` : null, d ? savingsText(d) : null, d ? riskText(d.risk) : null, counts || `${p.actionCount}`]);
      tr.dataset.planId = String(p.id);
      tr.dataset.state = p.state;
      if (state.shownPlan === p.id) tr.classList.add('selected');
      body.append(tr);
    });
    state.before = page.nextBefore;
    $('older-plans').hidden = page.nextBefore === null;
    $('plans-empty').hidden = body.rows.length > 0;
  } catch (err) {
    handle(err);
  }
}

async function showPlan(id, { keepMessage = false } = {}) {
  stopPolling();
  if (!keepMessage) clearError();
  let plan;
  try {
    plan = await api(`/v1/plans/${id}`);
  } catch (err) {
    handle(err);
    return;
  }
  state.shownPlan = id;
  for (const tr of $('plan-list').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.planId === String(id));
  const exec = plan.execution;
  const planState = exec?.state ?? null;
  $('plan').hidden = false;
  $('plan').dataset.planId = String(id);
  $('plan').dataset.state = planState ?? '';
  $('plan-id').textContent = `#${id}`;
  $('plan-state').replaceWith(Object.assign(badge(planState), { id: 'plan-state' }));
  if (!keepMessage) $('review-message').hidden = true;

  const summary = $('plan-summary');
  summary.replaceChildren();
  const item = (k, v) => summary.append(el('dt', k), el('dd', v));
  item('created', when(plan.createdAt));
  item('hosts before → after', `${plan.hostsBefore} → ${plan.hostsAfter} (${plan.hostsSaved} saved)`);
  item('expected savings', savingsText(plan));
  item('risk', riskText(plan.risk));
  if (plan.risk && typeof plan.risk.durationSeconds === 'number') item('migration time', `${num(plan.risk.migrationSeconds, 0)} s in total, ${num(plan.risk.durationSeconds, 0)} s wave by wave`);
  if (plan.deferred?.length) item('deferred', `${plan.deferred.length} moves left for a later plan`);
  item('execution', exec ? `${exec.state}: ${exec.reason} (updated ${when(exec.updatedAt)})` : 'never proposed for execution');

  // Review controls: for operators and admins, in the states where the route accepts them.
  const reviewer = canReview() && exec !== null;
  $('review').hidden = !reviewer;
  for (const action of ['approve', 'reject', 'execute']) $(action).hidden = !(reviewer && OFFER[action].includes(planState));

  const byseq = new Map((exec?.actions ?? []).map((a) => [a.seq, a]));
  const actions = $('actions').tBodies[0];
  actions.replaceChildren();
  plan.actions.forEach((a, seq) => {
    const x = byseq.get(seq);
    const move = a.kind === 'migrate' ? `${a.fromHost} → ${a.toHost}` : `${a.hostId} → powered off`;
    const tr = row([seq, a.wave ?? x?.wave, a.kind, a.vmId ?? null, move, a.reason, x ? badge(x.state) : null, x?.attempts ?? null, x?.error ? `${x.errorCode ?? ''} ${x.error}`.trim() : null]);
    tr.dataset.seq = String(seq);
    actions.append(tr);
  });

  const events = $('events').tBodies[0];
  events.replaceChildren();
  for (const e of exec?.events ?? []) {
    events.append(row([when(e.at), e.seq === null ? 'plan' : `action ${e.seq}`, `${e.from ?? '—'} → ${e.to}`, e.actor, e.reason]));
  }

  if (LIVE_STATES.includes(planState)) state.poll = setTimeout(() => showPlan(id, { keepMessage: true }), POLL_MS);
}

function stopPolling() {
  if (state.poll) clearTimeout(state.poll);
  state.poll = null;
}

async function review(action) {
  const id = state.shownPlan;
  if (id === null) return;
  clearError();
  const reason = $('reason').value.trim();
  const buttons = ['approve', 'reject', 'execute'].map($);
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const answer = await api(`/v1/plans/${id}/${action}`, { method: 'POST', body: reason ? { reason } : {} });
    $('review-message').textContent = answer.message;
    $('review-message').hidden = false;
    $('reason').value = '';
  } catch (err) {
    handle(err);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
  // Whatever the answer, show the state the server now holds.
  await showPlan(id, { keepMessage: true });
  await loadPlans();
}

// ---- forecast ----

async function loadVmIds() {
  try {
    const { vms } = await api('/v1/vms?limit=1000');
    $('vm-list').replaceChildren(...vms.map((v) => Object.assign(document.createElement('option'), { value: v.vmId })));
  } catch {
    // The list only helps typing: the forecast form works without it (QuestDB may be down).
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Path data of a line through the points, broken where a value is missing. */
function linePath(points, x, y) {
  let d = '';
  let pen = false;
  for (const [t, v] of points) {
    if (v === null || !Number.isFinite(v)) { pen = false; continue; }
    d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** Path data of the area between two quantile lines. */
function areaPath(points, lo, hi, x, y) {
  if (points.length === 0) return '';
  const top = points.map((p) => `${x(p.t).toFixed(1)},${y(p[hi]).toFixed(1)}`);
  const bottom = points.map((p) => `${x(p.t).toFixed(1)},${y(p[lo]).toFixed(1)}`).reverse();
  return `M${top.join('L')}L${bottom.join('L')}Z`;
}

/**
 * One chart: the actual series over the last 6 hours, the hindcast band over the same steps, and
 * the current band ahead of origin. Returns how often the actual stayed within the hindcast's p90 and p99.
 */
function chart(container, title, unit, scale, data) {
  const W = 900, H = 260, L = 60, R = 20, T = 24, B = 30;
  const band = (ps) => ps.map((p) => ({ t: Date.parse(p.at), p50: p.p50 / scale, p90: p.p90 / scale, p99: p.p99 / scale }));
  const now = band(data.band);
  const past = data.hindcast ? band(data.hindcast) : [];
  const actual = data.actual.map((p) => [Date.parse(p.at), p.value === null ? null : p.value / scale]);
  const origin = Date.parse(data.origin);
  // The hindcast and current bands start at their origin, at the last value seen then.
  const actualAt = new Map(actual);
  if (data.hindcastOrigin && actualAt.get(Date.parse(data.hindcastOrigin)) != null) {
    const v = actualAt.get(Date.parse(data.hindcastOrigin));
    past.unshift({ t: Date.parse(data.hindcastOrigin), p50: v, p90: v, p99: v });
  }
  if (actualAt.get(origin) != null) {
    const v = actualAt.get(origin);
    now.unshift({ t: origin, p50: v, p90: v, p99: v });
  }
  const times = [...actual.map((a) => a[0]), ...now.map((p) => p.t), ...past.map((p) => p.t)];
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const values = [...actual.map((a) => a[1]).filter((v) => v !== null), ...now.flatMap((p) => [p.p99, p.p90, p.p50]), ...past.flatMap((p) => [p.p99, p.p90, p.p50])];
  const vmax = Math.max(...values, 1e-9) * 1.08;
  const x = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * (W - L - R);
  const y = (v) => H - B - (v / vmax) * (H - T - B);

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title} (${unit})` });
  root.append(svg('title', {}, `${title} (${unit})`));
  root.append(svg('text', { x: L, y: 14 }, `${title} (${unit})`));
  root.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }), svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  for (const f of [0, 0.5, 1]) {
    const v = (vmax / 1.08) * f;
    root.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, v >= 100 ? v.toFixed(0) : v.toFixed(2)));
  }
  for (const [t, anchor] of [[t0, 'start'], [origin, 'middle'], [t1, 'end']]) root.append(svg('text', { x: x(t), y: H - B + 16, 'text-anchor': anchor }, `${hhmm(t)} UTC`));
  root.append(svg('line', { class: 'now', x1: x(origin), y1: T, x2: x(origin), y2: H - B }));
  for (const [cls, ps] of [['past', past], ['now', now]]) {
    if (ps.length === 0) continue;
    root.append(svg('path', { class: `band-${cls} p99`, d: areaPath(ps, 'p90', 'p99', x, y) }));
    root.append(svg('path', { class: `band-${cls} p90`, d: areaPath(ps, 'p50', 'p90', x, y) }));
    root.append(svg('path', { class: `median-${cls}`, d: linePath(ps.map((p) => [p.t, p.p50]), x, y) }));
  }
  root.append(svg('path', { class: 'actual', d: linePath(actual, x, y) }));
  container.replaceChildren(root);

  // Judge the hindcast at its horizons against what the VM then used.
  const judged = (data.hindcast ?? []).map((p) => [actualAt.get(Date.parse(p.at)), p.p90 / scale, p.p99 / scale]).filter(([a]) => a !== undefined && a !== null);
  const within90 = judged.filter(([a, p90]) => a <= p90).length;
  const within99 = judged.filter(([a, , p99]) => a <= p99).length;
  const note = el('p', judged.length ? `Actual at or under the hindcast's p90 at ${within90} of ${judged.length} horizons, under its p99 at ${within99} of ${judged.length}.` : 'No hindcast: the VM has less than 6 hours more history than the model needs.', 'hint');
  note.dataset.judged = String(judged.length);
  container.append(note);
}

async function showForecast(vmId) {
  clearError();
  $('forecast-meta').hidden = true;
  let f;
  try {
    f = await api(`/v1/vms/${encodeURIComponent(vmId)}/forecast`);
  } catch (err) {
    $('forecast-cpu').replaceChildren();
    $('forecast-mem').replaceChildren();
    handle(err);
    return;
  }
  $('forecast-meta').textContent = `${f.vmId} on ${f.hostId}; model ${f.model.name} v${f.model.version}; forecast from ${when(f.origin)}${f.hindcast ? `, hindcast from ${when(f.hindcast.origin)}` : ''}.`;
  $('forecast-meta').hidden = false;
  const common = { origin: f.origin, hindcastOrigin: f.hindcast?.origin ?? null };
  chart($('forecast-cpu'), 'CPU', 'cores', 1, { ...common, band: f.cpu, hindcast: f.hindcast?.cpu ?? null, actual: f.actual.cpu });
  chart($('forecast-mem'), 'Memory', 'GiB', 2 ** 30, { ...common, band: f.mem, hindcast: f.hindcast?.mem ?? null, actual: f.actual.mem });
}

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('key');
    const key = input.value.trim();
    $('signin-error').hidden = true;
    $('signin-button').disabled = true;
    try {
      await signIn(key);
      input.value = '';
    } catch (err) {
      showError(err, $('signin-error'));
    } finally {
      $('signin-button').disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  // Errors are cleared when the user asks again, not by a background refresh (it would hide them).
  $('refresh-plans').addEventListener('click', () => { clearError(); loadPlans(); });
  $('older-plans').addEventListener('click', () => { clearError(); loadPlans(true); });
  for (const action of ['approve', 'reject', 'execute']) $(action).addEventListener('click', () => review(action));
  $('forecast-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const vm = $('vm').value.trim();
    if (vm) showForecast(vm);
  });

  const saved = sessionStorage.getItem(KEY_SLOT);
  if (saved) {
    signIn(saved).catch((err) => signOut(describe(err)));
  } else {
    $('signin').hidden = false;
  }
});
