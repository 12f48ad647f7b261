import { crc32 } from 'node:zlib';
import type { OutgoingMessage } from '../../core/index.ts';

/** One message as the spool keeps it: where it goes and what it carries. */
export interface SpoolRecord {
  topic: string;
  message: OutgoingMessage;
}

/** Every segment file starts with these bytes, so a foreign or garbled file is recognised. */
export const SEGMENT_MAGIC = Buffer.from('NCSPOOL1', 'ascii');
/** Per record: payload length (u32) and CRC-32 of the payload (u32). */
export const RECORD_HEADER_BYTES = 8;
const FORMAT_VERSION = 1;
// A length beyond this is garbage from a torn write, not a record (publishers send < 1 MiB each).
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Encodes a record as `[len u32][crc32 u32][payload]`, payload = version u8, topic (u16 + bytes),
 * key (i32, -1 = null, + bytes), headers (u16 count, each u16 + bytes, u32 + bytes), value (u32 + bytes).
 */
export function encodeRecord(record: SpoolRecord): Buffer {
  const topic = Buffer.from(record.topic, 'utf8');
  const key = record.message.key === null ? null : Buffer.from(record.message.key, 'utf8');
  const headers = Object.entries(record.message.headers ?? {}).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  const value = record.message.value;
  let size = 1 + 2 + topic.length + 4 + (key?.length ?? 0) + 2 + 4 + value.length;
  for (const [k, v] of headers) size += 2 + k.length + 4 + v.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + size);
  let o = RECORD_HEADER_BYTES;
  o = out.writeUInt8(FORMAT_VERSION, o);
  o = out.writeUInt16BE(topic.length, o);
  o += topic.copy(out, o);
  o = out.writeInt32BE(key === null ? -1 : key.length, o);
  if (key) o += key.copy(out, o);
  o = out.writeUInt16BE(headers.length, o);
  for (const [k, v] of headers) {
    o = out.writeUInt16BE(k.length, o);
    o += k.copy(out, o);
    o = out.writeUInt32BE(v.length, o);
    o += v.copy(out, o);
  }
  o = out.writeUInt32BE(value.length, o);
  o += value.copy(out, o);
  out.writeUInt32BE(size, 0);
  out.writeUInt32BE(crc32(out.subarray(RECORD_HEADER_BYTES)), 4);
  return out;
}

function decodePayload(p: Buffer): SpoolRecord {
  let o = 0;
  const need = (n: number) => {
    if (o + n > p.length) throw new RangeError('record payload shorter than its fields');
  };
  need(1);
  const version = p.readUInt8(o);
  o += 1;
  if (version !== FORMAT_VERSION) throw new RangeError(`unknown record version ${version}`);
  need(2);
  const topicLen = p.readUInt16BE(o);
  o += 2;
  need(topicLen);
  const topic = p.toString('utf8', o, o + topicLen);
  o += topicLen;
  need(4);
  const keyLen = p.readInt32BE(o);
  o += 4;
  let key: string | null = null;
  if (keyLen >= 0) {
    need(keyLen);
    key = p.toString('utf8', o, o + keyLen);
    o += keyLen;
  }
  need(2);
  const n = p.readUInt16BE(o);
  o += 2;
  const headers: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    need(2);
    const kl = p.readUInt16BE(o);
    o += 2;
    need(kl);
    const k = p.toString('utf8', o, o + kl);
    o += kl;
    need(4);
    const vl = p.readUInt32BE(o);
    o += 4;
    need(vl);
    headers[k] = p.toString('utf8', o, o + vl);
    o += vl;
  }
  need(4);
  const valueLen = p.readUInt32BE(o);
  o += 4;
  need(valueLen);
  // A copy: the segment buffer is dropped once parsed, the message may live on in a retry.
  const value = Buffer.from(p.subarray(o, o + valueLen));
  return { topic, message: n > 0 ? { key, value, headers } : { key, value } };
}

export interface ParsedSegment {
  records: SpoolRecord[];
  /** Bytes of the file up to the end of the last good record. */
  goodBytes: number;
  /** Why parsing stopped before the end of the file, if it did. */
  problem?: string;
}

/** Parses a segment file's bytes; stops at the first torn or corrupt record and says where. */
export function parseSegment(buf: Buffer): ParsedSegment {
  if (buf.length < SEGMENT_MAGIC.length || !buf.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    return { records: [], goodBytes: 0, problem: 'not a spool segment (bad magic)' };
  }
  const records: SpoolRecord[] = [];
  let o = SEGMENT_MAGIC.length;
  while (o < buf.length) {
    if (o + RECORD_HEADER_BYTES > buf.length) return { records, goodBytes: o, problem: `partial record header at byte ${o}` };
    const len = buf.readUInt32BE(o);
    const crc = buf.readUInt32BE(o + 4);
    if (len > MAX_RECORD_BYTES) return { records, goodBytes: o, problem: `impossible record length ${len} at byte ${o}` };
    const start = o + RECORD_HEADER_BYTES;
    if (start + len > buf.length) return { records, goodBytes: o, problem: `partial record at byte ${o} (${buf.length - start} of ${len} bytes)` };
    const payload = buf.subarray(start, start + len);
    if (crc32(payload) !== crc) return { records, goodBytes: o, problem: `checksum mismatch at byte ${o}` };
    try {
      records.push(decodePayload(payload));
    } catch (err) {
      return { records, goodBytes: o, problem: `undecodable record at byte ${o}: ${(err as Error).message}` };
    }
    o = start + len;
  }
  return { records, goodBytes: o };
}
