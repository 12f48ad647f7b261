import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { NovaError } from '../../core/index.ts';

/** Version of the catalog file format this loader reads. */
export const CATALOG_FORMAT_VERSION = 1;

const price = z.number().min(0);
const name = z.string().trim().min(1);

const InstanceSchema = z.strictObject({
  provider: name,
  region: name,
  /** Absent: one price for the whole region (GCP, Azure); present: a zone's own price (AWS spot). */
  zone: name.optional(),
  instanceType: name,
  vcpus: z.number().positive(),
  memoryGiB: z.number().positive(),
  onDemandPerHour: price,
  spotPerHour: price.optional(),
});

const CatalogSchema = z
  .strictObject({
    version: z.literal(CATALOG_FORMAT_VERSION),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as "USD"'),
    /** Where the prices come from and when: carried into explanations, never parsed. */
    note: z.string().optional(),
    instances: z.array(InstanceSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    // Two prices for one offer would make "the cheapest" depend on file order.
    const seen = new Map<string, number>();
    catalog.instances.forEach((it, i) => {
      const key = instanceKey(it);
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['instances', i, 'instanceType'], message: `duplicates instances[${first}] (same provider, region, zone and instance type)` });
      } else seen.set(key, i);
    });
  });

/**
 * One priced offer of the catalog file. Prices are per hour in the catalog's currency; memory is
 * in GiB (2^30 bytes), as providers publish it.
 */
export type CatalogInstance = Readonly<z.infer<typeof InstanceSchema>>;

/**
 * A cloud instance catalog (JSON file, format version 1):
 * `{ "version": 1, "currency": "USD", "note"?: string, "instances": [{ "provider", "region", "zone"?,
 * "instanceType", "vcpus", "memoryGiB", "onDemandPerHour", "spotPerHour"? }] }`; unknown fields are
 * rejected so a misspelt optional field (say `spotPerhour`) is an error rather than a missing price.
 */
export interface InstanceCatalog {
  readonly version: typeof CATALOG_FORMAT_VERSION;
  readonly currency: string;
  readonly note?: string | undefined;
  readonly instances: readonly CatalogInstance[];
}

/** Validates a parsed catalog (or its JSON text); throws COST_CATALOG_INVALID naming the first bad field. */
export function parseCatalog(input: unknown, source = 'catalog'): InstanceCatalog {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new NovaError('COST_CATALOG_INVALID', `${source}: field "(root)" is invalid: not JSON (${(err as Error).message}); fix the catalog (format: scheduler/cost/README.md)`, {
        cause: err,
        details: { source, field: '(root)' },
      });
    }
  }
  const parsed = CatalogSchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => ({ field: fieldPath([...issue.path, k]), message: 'unknown field' })) : [{ field: fieldPath(issue.path), message: issue.message }],
    );
    const first = fields[0] ?? { field: '(root)', message: 'invalid' };
    throw new NovaError('COST_CATALOG_INVALID', `${source}: field "${first.field}" is invalid: ${first.message}; fix the catalog (format: scheduler/cost/README.md)`, {
      details: { source, field: first.field, issues: fields },
    });
  }
  return deepFreeze(parsed.data);
}

/** Reads and validates a catalog file; COST_CATALOG_UNREADABLE when the file cannot be read. */
export async function loadCatalogFile(path: string): Promise<InstanceCatalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new NovaError('COST_CATALOG_UNREADABLE', `cannot read the instance catalog ${path} (${(err as Error).message}); check the path`, { cause: err, details: { path } });
  }
  return parseCatalog(text, path);
}

/** Identity of an offer: provider, region, zone (empty when region-wide) and instance type. */
export function instanceKey(it: { provider: string; region: string; zone?: string | undefined; instanceType: string }): string {
  return `${it.provider}/${it.region}/${it.zone ?? ''}/${it.instanceType}`;
}

/** Human label of an offer for explanations, e.g. `aws m7i.large (us-east-1)`. */
export function instanceLabel(it: CatalogInstance): string {
  return `${it.provider} ${it.instanceType} (${it.zone ?? it.region})`;
}

// `instances[3].onDemandPerHour`: the path as a person would type it into the file.
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(root)' : out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
