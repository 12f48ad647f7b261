import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { ACTION_STATES, executionSettled, PLAN_STATES, type ActionState, type ExecutionEvent, type ExecutionRow, type PlanState } from '../actuators/index.ts';
import { hasCode, NovaError } from '../core/index.ts';
import { RIGHTSIZING_ACTIONS, type LoadAfterPage, type PlanReadOptions, type RightsizingPage, type StoredPlan } from '../scheduler/index.ts';
import { actorOf } from './auth.ts';
import { gzipAnswer, sendsGzip } from './read-cache.ts';
import { costSchema, errorResponses, hostLoadSchema, idParams, nextOffsetSchema, pageQuery, planProperties, reasonSchema } from './schemas.ts';

/** One plan under execution, as listed: its state and how many of its actions are in each state. */
export interface PlanSummary {
  planId: number;
  state: PlanState;
  reason: string;
  createdAt: Date;
  updatedAt: Date;
  actions: Record<ActionState, number>;
}

/** What the plan routes call: the scheduler's plan store and the executor's state store. */
export interface PlansPort {
  list(opts: { states?: readonly PlanState[]; limit: number; beforePlanId?: number }): Promise<PlanSummary[]>;
  load(id: number, opts?: PlanReadOptions): Promise<StoredPlan | null>;
  /** A page of the plan's rightsizing recommendations (of one action when given); null when there is no such plan. */
  rightsizing(id: number, page: { limit: number; offset: number; action?: RightsizingAction }): Promise<RightsizingPage | null>;
  /** A page of the plan's loadAfter (every host that runs VMs after it); null when there is no such plan. */
  loadAfter(id: number, page: { limit: number; offset: number }): Promise<LoadAfterPage | null>;
  execution(id: number): Promise<ExecutionRow | null>;
  events(id: number): Promise<ExecutionEvent[]>;
  /** Moves the plan to `to` if its state is one of `expect`; returns the state it left. */
  transition(id: number, to: PlanState, actor: string, reason: string, expect: readonly PlanState[]): Promise<PlanState>;
}

type RightsizingAction = (typeof RIGHTSIZING_ACTIONS)[number];

/**
 * How many rightsizing recommendations a plan document carries (GET /v1/plans/{id}, /v1/recommendations):
 * the list has one per VM with history (~700 bytes each, 11 MB for 16k VMs), so the rest is paged
 * from GET /v1/plans/{id}/rightsizing; the document's rightsizingTotal says how many there are.
 */
export const INLINE_RIGHTSIZING = 100;
/**
 * How every route that shows a plan document reads it: the first rightsizing recommendations, and
 * the load after the plan of the hosts its actions touch (GET /v1/plans/{id}/load-after pages all).
 */
export const PLAN_DOCUMENT_READ: PlanReadOptions = Object.freeze({ rightsizingLimit: INLINE_RIGHTSIZING, loadAfter: 'touched' });

/**
 * Bytes of plan documents GET /v1/plans/{id} keeps in memory: ~250 KB of JSON each at 2,000
 * hosts and 225 actions, ~350 KB with a settled execution (plus its gzip form, a sixth of that),
 * so a few hundred plans. A stored plan never changes, so a kept document is never stale.
 */
export const PLAN_DOCUMENT_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * What GET /v1/plans/{id} keeps of a plan: its JSON without the execution, read again per answer;
 * or, once the execution is settled (superseded, rejected, rolled back: no transition can follow),
 * the whole answer, and its gzip form once a caller accepted gzip. Most stored plans are settled,
 * so most answers read nothing and compress nothing.
 */
interface KeptPlan {
  json: string;
  settled: boolean;
  gzip?: Buffer;
}

/** What a page of one of a plan's lists answers beside its rows (schema: planPageProperties). */
const planPage = (planId: number, q: { limit: number; offset: number }, total: number) => ({
  planId, total, limit: q.limit, offset: q.offset, nextOffset: q.offset + q.limit < total ? q.offset + q.limit : null,
});
const planPageProperties = (totalDescription: string) => ({
  planId: { type: 'integer' }, total: { type: 'integer', description: totalDescription },
  limit: { type: 'integer' }, offset: { type: 'integer' }, nextOffset: nextOffsetSchema,
} as const);

/** Largest page of GET /v1/plans. */
export const MAX_PLAN_PAGE = 200;
/** Bodies of the plan mutations carry one short reason: anything bigger is refused (413) before parsing. */
export const PLAN_BODY_LIMIT = 16 * 1024;

const iso = (d: Date | number | null) => (d === null ? null : new Date(d).toISOString());
const countsSchema = { type: 'object', description: 'number of the plan\'s actions in each state', properties: Object.fromEntries(ACTION_STATES.map((s) => [s, { type: 'integer' }])) };
const transitionSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, from: { type: 'string', enum: [...PLAN_STATES] }, state: { type: 'string', enum: [...PLAN_STATES] },
    actor: { type: 'string', description: 'key:<name of the key that called>' }, reason: { type: 'string' }, message: { type: 'string' },
  },
  required: ['id', 'from', 'state', 'actor', 'reason', 'message'],
} as const;
const nullableString = { type: 'string', nullable: true } as const;
const executionSchema = {
  type: 'object',
  nullable: true,
  description: 'the plan\'s execution (null when it was never proposed for execution)',
  properties: {
    state: { type: 'string', enum: [...PLAN_STATES] }, reason: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
    actions: {
      type: 'array',
      items: {
        type: 'object',
        description: 'the execution of actions[seq]',
        properties: {
          seq: { type: 'integer' }, state: { type: 'string', enum: [...ACTION_STATES] }, kind: { type: 'string' }, wave: { type: 'integer' },
          attempts: { type: 'integer' }, errorCode: nullableString, error: nullableString,
          startedAt: { type: 'string', format: 'date-time', nullable: true }, finishedAt: { type: 'string', format: 'date-time', nullable: true },
          seconds: { type: 'number', nullable: true }, owner: nullableString,
        },
      },
    },
    events: {
      type: 'array',
      description: 'the audit trail, oldest first: every transition of the plan (seq null) and of its actions, who made it and why',
      items: {
        type: 'object',
        properties: { seq: { type: 'integer', nullable: true }, from: nullableString, to: { type: 'string' }, actor: { type: 'string' }, reason: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
      },
    },
  },
} as const;

const optionalReasonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { ...reasonSchema, description: 'why (recorded in the audit trail); at most 500 characters' } },
} as const;

/** The plan routes: list and show (viewer), approve, reject, execute (operator). */
export function registerPlanRoutes(app: FastifyInstance, plans: PlansPort): void {
  // Plan id → the plan's JSON without its execution, least recently used out first; concurrent
  // misses of one id share one read, and an unknown plan is not kept (it may be saved next).
  const documents = new LRUCache<number, KeptPlan>({
    maxSize: PLAN_DOCUMENT_MEMORY_BYTES,
    sizeCalculation: (kept) => kept.json.length + (kept.gzip?.length ?? 0),
    // A read under way when its entry is pushed out still answers the requests waiting on it.
    ignoreFetchAbort: true,
    allowStaleOnFetchAbort: true,
    fetchMethod: async (id) => {
      const plan = await plans.load(id, PLAN_DOCUMENT_READ);
      return plan ? { json: JSON.stringify({ ...plan, createdAt: iso(plan.createdAt) }), settled: false } : undefined;
    },
  });
  const notFound = (id: number) => new NovaError('PLAN_NOT_FOUND', `there is no plan ${id}; GET /v1/plans lists the plans`, { details: { planId: id } });

  // A plan with no execution row: unknown, or stored without being proposed for execution.
  const missing = async (id: number): Promise<never> => {
    if (!(await plans.load(id, PLAN_DOCUMENT_READ))) throw notFound(id);
    throw new NovaError('EXECUTION_PLAN_NOT_FOUND', `plan ${id} was stored but never proposed for execution (./novacron plan proposes the plans it makes), so it cannot be approved, rejected or executed`, { details: { planId: id } });
  };

  const transition = async (req: FastifyRequest, id: number, to: PlanState, reason: string, expect: readonly PlanState[]): Promise<PlanState> => {
    try {
      return await plans.transition(id, to, actorOf(req.caller!), reason, expect);
    } catch (err) {
      if (hasCode(err, 'EXECUTION_PLAN_NOT_FOUND')) return missing(id);
      throw err;
    }
  };

  app.get('/v1/plans', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Plans under execution, newest first, with their state and their actions counted by state',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          state: { type: 'string', enum: [...PLAN_STATES], description: 'only plans in this state' },
          limit: { type: 'integer', minimum: 1, maximum: MAX_PLAN_PAGE, default: 50 },
          before: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'only plans with a smaller id: pass the previous page\'s nextBefore' },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            plans: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' }, state: { type: 'string', enum: [...PLAN_STATES] }, reason: { type: 'string' },
                  createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
                  actionCount: { type: 'integer' }, actions: countsSchema,
                },
              },
            },
            nextBefore: { type: 'integer', nullable: true, description: 'the before= of the next page; null on the last page' },
          },
        },
        ...errorResponses(),
      },
    },
  }, async (req) => {
    const q = req.query as { state?: PlanState; limit: number; before?: number };
    const rows = await plans.list({ ...(q.state ? { states: [q.state] } : {}), limit: q.limit, ...(q.before !== undefined ? { beforePlanId: q.before } : {}) });
    return {
      plans: rows.map((r) => ({ id: r.planId, state: r.state, reason: r.reason, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt), actionCount: Object.values(r.actions).reduce((a, b) => a + b, 0), actions: r.actions })),
      nextBefore: rows.length === q.limit ? rows.at(-1)!.planId : null,
    };
  });

  app.get('/v1/plans/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: 'One stored plan (actions with their reasons, waves, expected savings, risk, cost) and its execution: state, each action\'s state, attempts and error, and the audit trail',
      params: idParams,
      response: {
        200: {
          type: 'object',
          additionalProperties: true,
          properties: {
            ...planProperties,
            execution: executionSchema,
          },
        },
        ...errorResponses(404),
      },
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: number };
    const kept = await documents.fetch(id);
    if (kept === undefined) throw notFound(id);
    const send = (json: string) => reply.type('application/json; charset=utf-8').send(json);
    if (kept.settled) {
      if (!sendsGzip(req, kept.json.length)) return send(kept.json);
      // Compressed once for good (the read cache below compresses per TTL, and a few hundred
      // plans each asked now and then would each be compressed again every time).
      if (!kept.gzip) documents.set(id, Object.assign(kept, { gzip: await gzipAnswer(kept.json) }));
      return reply.type('application/json; charset=utf-8').header('content-encoding', 'gzip').header('vary', 'accept-encoding').send(kept.gzip);
    }
    // Events after the execution row, not beside it: when the row says settled, its last
    // transition had committed, so the events read next include all of them for good.
    const exec = await plans.execution(id);
    const events = exec ? await plans.events(id) : [];
    const execution = exec && {
      state: exec.state,
      reason: exec.reason,
      createdAt: iso(exec.createdAt),
      updatedAt: iso(exec.updatedAt),
      actions: exec.actions.map((a) => ({ seq: a.seq, state: a.state, kind: a.kind, wave: a.wave, attempts: a.attempts, errorCode: a.errorCode, error: a.error, startedAt: iso(a.startedAt), finishedAt: iso(a.finishedAt), seconds: a.seconds, owner: a.owner })),
      events: events.map((e) => ({ seq: e.seq, from: e.fromState, to: e.toState, actor: e.actor, reason: e.reason, at: iso(e.at) })),
    };
    const answer = `${kept.json.slice(0, -1)},"execution":${JSON.stringify(execution)}}`;
    if (exec && executionSettled(exec.state, exec.actions.map((a) => a.state))) documents.set(id, { json: answer, settled: true });
    return send(answer);
  });

  app.get('/v1/plans/:id/rightsizing', {
    config: { role: 'viewer' },
    schema: {
      summary: `A page of the plan's rightsizing recommendations, in the plan's order (on-prem VMs by id, then cloud VMs); a plan document carries the first ${INLINE_RIGHTSIZING}`,
      params: idParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          action: { type: 'string', enum: [...RIGHTSIZING_ACTIONS], description: 'only recommendations of this action' },
          ...pageQuery(100),
        },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            ...planPageProperties('recommendations matching (all pages)'),
            recommendations: costSchema.properties.rightsizing,
          },
        },
        ...errorResponses(404),
      },
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const q = req.query as { action?: RightsizingAction; limit: number; offset: number };
    const page = await plans.rightsizing(id, { limit: q.limit, offset: q.offset, ...(q.action ? { action: q.action } : {}) });
    if (!page) throw notFound(id);
    return { ...planPage(id, q, page.total), recommendations: page.recommendations };
  });

  app.get('/v1/plans/:id/load-after', {
    config: { role: 'viewer' },
    schema: {
      summary: 'A page of the plan\'s load after it: every host that runs VMs once the plan is carried out, with its CPU and memory against capacity; a plan document carries only the hosts its actions touch',
      params: idParams,
      querystring: { type: 'object', additionalProperties: false, properties: pageQuery(500) },
      response: {
        200: {
          type: 'object',
          properties: {
            ...planPageProperties('hosts in the whole list (all pages)'),
            hosts: { type: 'array', items: hostLoadSchema },
          },
        },
        ...errorResponses(404),
      },
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const q = req.query as { limit: number; offset: number };
    const page = await plans.loadAfter(id, q);
    if (!page) throw notFound(id);
    return { ...planPage(id, q, page.total), hosts: page.hosts };
  });

  const mutation = (summary: string, body: object, ok: 200 | 202) => ({
    config: { role: 'operator' as const },
    bodyLimit: PLAN_BODY_LIMIT,
    // A POST with no body at all means {} (e.g. curl -X POST): the reason is optional, or named when missing.
    preValidation: async (req: FastifyRequest) => {
      if (req.body === undefined || req.body === null) req.body = {};
    },
    schema: { summary, params: idParams, body, response: { [ok]: transitionSchema, ...errorResponses(404, 409, 413) } },
  });

  app.post('/v1/plans/:id/approve', mutation('Approves a proposed plan (and its proposed actions); the executor (./novacron execute) then carries it out', optionalReasonBody, 200), async (req) => {
    const { id } = req.params as { id: number };
    const reason = (req.body as { reason?: string } | undefined)?.reason ?? 'approved through the API';
    const from = await transition(req, id, 'approved', reason, ['proposed']);
    return { id, from, state: 'approved', actor: actorOf(req.caller!), reason, message: `plan ${id} approved; the executor (./novacron execute) carries it out` };
  });

  app.post('/v1/plans/:id/reject', mutation('Rejects a proposed or approved plan that has not started; its open actions are skipped', {
    type: 'object',
    additionalProperties: false,
    required: ['reason'],
    properties: { reason: { ...reasonSchema, description: 'why (recorded in the audit trail); 1 to 500 characters' } },
  }, 200), async (req) => {
    const { id } = req.params as { id: number };
    const { reason } = req.body as { reason: string };
    const from = await transition(req, id, 'rejected', reason, ['proposed', 'approved']);
    return { id, from, state: 'rejected', actor: actorOf(req.caller!), reason, message: `plan ${id} rejected; none of its actions will run` };
  });

  app.post('/v1/plans/:id/execute', mutation('Asks for a plan to be carried out: approves it if proposed; 202 because the executor (./novacron execute) runs it; 409 for a plan that is final (rejected, superseded, succeeded, failed, rolled back)', optionalReasonBody, 202), async (req, reply) => {
    const { id } = req.params as { id: number };
    const reason = (req.body as { reason?: string } | undefined)?.reason ?? 'execution requested through the API';
    const actor = actorOf(req.caller!);
    const answer = (from: PlanState, state: PlanState, message: string) => reply.code(202).send({ id, from, state, actor, reason, message });
    const state = (await plans.execution(id))?.state ?? (await missing(id));
    if (state === 'approved') return answer('approved', 'approved', `plan ${id} is already approved; the executor (./novacron execute) carries it out`);
    if (state === 'running') return answer('running', 'running', `plan ${id} is already being carried out by the executor`);
    const notExecutable = (s: PlanState) => new NovaError('EXECUTION_TRANSITION_INVALID', `plan ${id} is ${s}; only a proposed, approved or running plan can be executed`, { details: { planId: id, from: s } });
    if (state !== 'proposed') throw notExecutable(state);
    try {
      const from = await transition(req, id, 'approved', reason, ['proposed']);
      return answer(from, 'approved', `plan ${id} approved; the executor (./novacron execute) carries it out, wave by wave, under the execution limits`);
    } catch (err) {
      // Approved or started by someone else since we looked: the request is already satisfied.
      if (hasCode(err, 'EXECUTION_TRANSITION_INVALID')) {
        const now = (await plans.execution(id))?.state;
        if (now === 'approved' || now === 'running') return answer(now, now, `plan ${id} is already ${now === 'approved' ? 'approved' : 'being carried out'}`);
        throw notExecutable(now ?? state);
      }
      throw err;
    }
  });
}
