// collectd's JSON format (src/utils/format_json in collectd 5.12, used by write_kafka with
// `Format JSON`): every Kafka message is a JSON array of value lists, e.g.
//   [{"values":[885602907.37],"dstypes":["derive"],"dsnames":["value"],"time":1796304180.229,
//     "interval":2.000,"host":"kvm-07","plugin":"virt","plugin_instance":"web-1",
//     "type":"virt_cpu_total","type_instance":""}]
// With `StoreRates true` counter/derive/absolute values arrive as per-second rates; a rate
// collectd cannot compute yet (the first read of a counter) arrives as null.

/** One collectd value list, checked for shape. `values[i]` is null where collectd had no rate. */
export interface ValueList {
  values: (number | null)[];
  dstypes: string[];
  dsnames: string[];
  /** Seconds since the epoch, with fractions. */
  time: number;
  /** Seconds. */
  interval: number;
  host: string;
  plugin: string;
  plugin_instance: string;
  type: string;
  type_instance: string;
}

/** Why a message is not collectd JSON: a stable code and the field at fault. */
export interface ShapeProblem {
  code: 'COLLECTD_BAD_JSON' | 'COLLECTD_BAD_SHAPE';
  reason: string;
  field?: string;
}

const STRING_FIELDS = ['host', 'plugin', 'plugin_instance', 'type', 'type_instance'] as const;

/** Parses one message's bytes into value lists, or says what is wrong with them. */
export function parseValueLists(value: Buffer | null): ValueList[] | ShapeProblem {
  if (value === null || value.length === 0) return { code: 'COLLECTD_BAD_JSON', reason: 'empty message: write_kafka sends one JSON array of value lists per message' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    return { code: 'COLLECTD_BAD_JSON', reason: `not JSON (${(err as Error).message}); is the write_kafka topic set to "Format JSON"?` };
  }
  if (!Array.isArray(parsed)) return { code: 'COLLECTD_BAD_SHAPE', reason: 'the message must be a JSON array of value lists (collectd write_kafka Format JSON)', field: '$' };
  if (parsed.length === 0) return { code: 'COLLECTD_BAD_SHAPE', reason: 'the message is an empty array', field: '$' };
  const lists: ValueList[] = [];
  for (let i = 0; i < parsed.length; i++) {
    const checked = checkValueList(parsed[i], `[${i}]`);
    if ('code' in checked) return checked;
    lists.push(checked);
  }
  return lists;
}

function bad(field: string, reason: string): ShapeProblem {
  return { code: 'COLLECTD_BAD_SHAPE', reason: `${field} ${reason}`, field };
}

function checkValueList(v: unknown, at: string): ValueList | ShapeProblem {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(at, 'must be an object (a collectd value list)');
  const o = v as Record<string, unknown>;
  for (const f of STRING_FIELDS) {
    if (typeof o[f] !== 'string') return bad(`${at}.${f}`, `must be a string, got ${JSON.stringify(o[f]) ?? 'nothing'}`);
  }
  if ((o.host as string).length === 0) return bad(`${at}.host`, 'must not be empty');
  for (const f of ['time', 'interval'] as const) {
    const n = o[f];
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return bad(`${at}.${f}`, `must be a positive number of seconds, got ${JSON.stringify(n) ?? 'nothing'}`);
  }
  for (const f of ['values', 'dstypes', 'dsnames'] as const) {
    if (!Array.isArray(o[f]) || (o[f] as unknown[]).length === 0) return bad(`${at}.${f}`, 'must be a non-empty array');
  }
  const values = o.values as unknown[];
  const dstypes = o.dstypes as unknown[];
  const dsnames = o.dsnames as unknown[];
  if (dstypes.length !== values.length || dsnames.length !== values.length) {
    return bad(`${at}.values`, `has ${values.length} entries but dstypes has ${dstypes.length} and dsnames ${dsnames.length}`);
  }
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== null && (typeof x !== 'number' || !Number.isFinite(x))) return bad(`${at}.values[${i}]`, `must be a number or null, got ${JSON.stringify(x)}`);
    if (typeof dstypes[i] !== 'string') return bad(`${at}.dstypes[${i}]`, 'must be a string');
    if (typeof dsnames[i] !== 'string') return bad(`${at}.dsnames[${i}]`, 'must be a string');
  }
  return {
    values: values as (number | null)[],
    dstypes: dstypes as string[],
    dsnames: dsnames as string[],
    time: o.time as number,
    interval: o.interval as number,
    host: o.host as string,
    plugin: o.plugin as string,
    plugin_instance: o.plugin_instance as string,
    type: o.type as string,
    type_instance: o.type_instance as string,
  };
}

/** The named data source's value (collectd names them: rx/tx, read/write, value). */
export function ds(vl: ValueList, name: string): number | null | undefined {
  const i = vl.dsnames.indexOf(name);
  return i < 0 ? undefined : vl.values[i];
}
