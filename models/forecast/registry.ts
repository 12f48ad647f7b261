import { NovaError, type Migration, type PgPool } from '../../core/index.ts';
import type { QuantileShifts } from './calibration.ts';
import { deserialiseMlp, serialiseMlp, type MlpLayout } from './mlp.ts';
import type { ForecastModel } from './model.ts';
import type { PipelineResult } from './pipeline.ts';
import type { ModelSpec } from './spec.ts';

/** Schema of the forecast model registry, applied with core's migrate(). */
export const FORECAST_REGISTRY_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    id: 'models-001',
    sql: `
      create table forecast_model_versions (
        id bigserial primary key,
        name text not null,
        version int not null,
        status text not null check (status in ('promoted', 'rejected')),
        reason text not null,
        created_at timestamptz not null default now(),
        promoted_at timestamptz,
        backend text not null,
        inference_engine text not null,
        spec jsonb not null,
        layout jsonb not null,
        weights bytea not null,
        calibration jsonb not null,
        data_from timestamptz,
        data_until timestamptz,
        data_summary jsonb not null,
        metrics jsonb not null,
        unique (name, version),
        check ((status = 'promoted') = (promoted_at is not null))
      );
      create index forecast_model_serving on forecast_model_versions (name, promoted_at desc, version desc) where status = 'promoted';
    `,
  },
]);

/** What to store for one trained model. */
export interface NewModelVersion {
  name: string;
  model: ForecastModel;
  status: 'promoted' | 'rejected';
  reason: string;
  /** TF.js backend training ran on, and the engine inference was measured fastest with. */
  backend: string;
  inferenceEngine: string;
  /** Training data range (ms since epoch); undefined when the data carry no absolute time. */
  dataFrom?: number;
  dataUntil?: number;
  /** Sources, series counts, split: free-form but JSON. */
  dataSummary: Record<string, unknown>;
  /** Validation and test metrics of the model and every baseline. */
  metrics: Record<string, unknown>;
}

/** A stored version without its weights. */
export interface ModelVersionSummary {
  id: string;
  name: string;
  version: number;
  status: 'promoted' | 'rejected';
  reason: string;
  createdAt: Date;
  promotedAt: Date | null;
  backend: string;
  inferenceEngine: string;
  dataFrom: Date | null;
  dataUntil: Date | null;
  dataSummary: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

/** The registry entry for a training run: decision, backend, data range, with the caller's source and metrics added. */
export function versionOf(name: string, result: PipelineResult, source: Record<string, unknown>, metrics: Record<string, unknown>): NewModelVersion {
  return {
    name,
    model: result.model,
    status: result.decision.status,
    reason: result.decision.reason,
    backend: result.backend.backend,
    inferenceEngine: result.engine.engine,
    dataFrom: result.dataFrom,
    dataUntil: result.dataUntil,
    dataSummary: { ...source, series: result.splits.length, trainingSeries: result.training.series, perGroup: result.training.perGroup },
    metrics: { validation: result.decision.comparisons, ...metrics },
  };
}

/** A stored version with the model rebuilt from its weights. */
export interface StoredModel extends ModelVersionSummary {
  model: ForecastModel;
}

const SUMMARY_COLUMNS = `id, name, version, status, reason, created_at, promoted_at, backend, inference_engine, data_from, data_until, data_summary, metrics`;

interface SummaryRow {
  id: string;
  name: string;
  version: number;
  status: 'promoted' | 'rejected';
  reason: string;
  created_at: Date;
  promoted_at: Date | null;
  backend: string;
  inference_engine: string;
  data_from: Date | null;
  data_until: Date | null;
  data_summary: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

function toSummary(r: SummaryRow): ModelVersionSummary {
  return {
    id: r.id, name: r.name, version: r.version, status: r.status, reason: r.reason, createdAt: r.created_at, promotedAt: r.promoted_at,
    backend: r.backend, inferenceEngine: r.inference_engine, dataFrom: r.data_from, dataUntil: r.data_until, dataSummary: r.data_summary, metrics: r.metrics,
  };
}

/**
 * Stores a model version under the next version number of its name, with the status the
 * promotion rule gave it. A rejected version is kept (weights, metrics, reason) but never
 * served: servingModel goes on returning the last promoted one.
 */
export async function registerModelVersion(pool: PgPool, v: NewModelVersion): Promise<ModelVersionSummary> {
  const { layout, bytes } = serialiseMlp(v.model.weights);
  const client = await pool.connect();
  try {
    await client.query('begin');
    // One writer per model name at a time, so version numbers never collide.
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`forecast_model_versions:${v.name}`]);
    const { rows } = await client.query<SummaryRow>(
      `insert into forecast_model_versions
         (name, version, status, reason, promoted_at, backend, inference_engine, spec, layout, weights, calibration, data_from, data_until, data_summary, metrics)
       select $1, coalesce(max(version), 0) + 1, $2, $3, case when $2 = 'promoted' then now() end, $4, $5, $6, $7, $8, $9,
              to_timestamp($10::double precision / 1000), to_timestamp($11::double precision / 1000), $12, $13
         from forecast_model_versions where name = $1
       returning ${SUMMARY_COLUMNS}`,
      [v.name, v.status, v.reason, v.backend, v.inferenceEngine, JSON.stringify(v.model.spec), JSON.stringify(layout), bytes,
        JSON.stringify(v.model.shifts), v.dataFrom ?? null, v.dataUntil ?? null, JSON.stringify(v.dataSummary), JSON.stringify(v.metrics)],
    );
    await client.query('commit');
    return toSummary(rows[0]!);
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw registryError(err, `cannot register a version of model "${v.name}"`);
  } finally {
    client.release();
  }
}

/** The version the registry serves: the most recently promoted one; undefined before any promotion. */
export async function servingModel(pool: PgPool, name: string): Promise<StoredModel | undefined> {
  const { rows } = await pool
    .query<SummaryRow & { spec: ModelSpec; layout: MlpLayout; weights: Buffer; calibration: Record<string, QuantileShifts> }>(
      `select ${SUMMARY_COLUMNS}, spec, layout, weights, calibration from forecast_model_versions
        where name = $1 and status = 'promoted' order by promoted_at desc, version desc limit 1`,
      [name],
    )
    .catch((err: unknown) => {
      throw registryError(err, `cannot read the serving version of model "${name}"`);
    });
  const r = rows[0];
  if (!r) return undefined;
  return { ...toSummary(r), model: { spec: r.spec, weights: deserialiseMlp(r.layout, r.weights), shifts: r.calibration } };
}

/** Every version of a model, newest first, without weights. */
export async function listModelVersions(pool: PgPool, name: string): Promise<ModelVersionSummary[]> {
  const { rows } = await pool
    .query<SummaryRow>(`select ${SUMMARY_COLUMNS} from forecast_model_versions where name = $1 order by version desc`, [name])
    .catch((err: unknown) => {
      throw registryError(err, `cannot list the versions of model "${name}"`);
    });
  return rows.map(toSummary);
}

function registryError(cause: unknown, what: string): NovaError {
  // 42P01 undefined_table: the schema was never migrated, which no retry fixes.
  const missingTable = (cause as { code?: string }).code === '42P01';
  return new NovaError(
    'FORECAST_REGISTRY_FAILED',
    `${what}: ${(cause as Error).message}; ${missingTable ? 'apply FORECAST_REGISTRY_MIGRATIONS with migrate()' : 'check DATABASE_URL and that PostgreSQL is up'}`,
    { retriable: !missingTable, cause },
  );
}
