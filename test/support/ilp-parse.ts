import assert from 'node:assert/strict';

/** One ILP row as QuestDB reads it. */
export interface IlpRow {
  table: string;
  tags: Record<string, string>;
  /** Binary DOUBLEs as numbers; text values (LONGs with their `i`) as written. */
  fields: Record<string, number | string>;
  ts: string;
}

const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const SPACE = 0x20;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;
const BINARY_DOUBLE = 16;

/**
 * Parses ILP rows with QuestDB's rules, independently of streams/ilp-lines.ts: a backslash
 * makes the next byte literal in table names, tag keys and values; a field written `name==`
 * is binary (protocol version 2: a type byte, 16 for DOUBLE, then 8 bytes little-endian);
 * other field values run to the next separator. Asserts the structure as it goes.
 */
export function parseIlp(body: Buffer): IlpRow[] {
  const rows: IlpRow[] = [];
  let i = 0;
  // Bytes up to an unescaped byte in `stops`; returns the text and the stop byte (consumed).
  const token = (stops: number[]): [string, number] => {
    const out: number[] = [];
    for (;;) {
      assert.ok(i < body.length, 'the row ends before its newline');
      const b = body[i++]!;
      if (b === BACKSLASH) {
        assert.ok(i < body.length, 'a backslash at the end');
        out.push(body[i++]!);
      } else if (stops.includes(b)) return [Buffer.from(out).toString('utf8'), b];
      else {
        assert.notEqual(b, NEWLINE, 'no bare newline inside a row');
        out.push(b);
      }
    }
  };
  while (i < body.length) {
    let [table, sep] = token([COMMA, SPACE]);
    const tags: Record<string, string> = {};
    while (sep === COMMA) {
      const [key] = token([EQUALS]);
      let value: string;
      [value, sep] = token([COMMA, SPACE]);
      tags[key] = value;
    }
    const fields: Record<string, number | string> = {};
    do {
      const [key] = token([EQUALS]);
      if (body[i] === EQUALS) {
        assert.equal(body[i + 1], BINARY_DOUBLE, `${key}: binary type ${body[i + 1]} is not DOUBLE`);
        fields[key] = body.readDoubleLE(i + 2);
        i += 10;
        sep = body[i++]!;
        assert.ok(sep === COMMA || sep === SPACE, `${key}: a separator after its 8 bytes`);
      } else {
        let value: string;
        [value, sep] = token([COMMA, SPACE]);
        fields[key] = value;
      }
    } while (sep === COMMA);
    const [ts] = token([NEWLINE]);
    assert.match(ts, /^\d+$/, 'a timestamp of digits');
    rows.push({ table, tags, fields, ts });
  }
  return rows;
}
