import type { IncomingMessage } from '../core/index.ts';
import { decodeMessage, encodeSample, SampleError, validateSample, type Sample } from '../schemas/index.ts';
import { DLQ_HEADERS, type Rejection } from './dead-letter.ts';
import type { BatchDecoder, DecodedBatch } from './decoder.ts';

/** Why a message was refused, from what decoding or validation threw. */
export function rejectionOf(err: unknown): Rejection {
  if (err instanceof SampleError) return { code: err.code, reason: err.message, field: err.field };
  // A decoder bug must not stop the partition: park the message with the cause and go on.
  return { code: 'SAMPLE_UNEXPECTED', reason: err instanceof Error ? err.message : String(err) };
}

/**
 * Our own samples: Avro with the registry-style header (schemas/), then validateSample. A
 * message is a single sample or a host tick (a host's sample and its VMs' samples of one
 * instant); in a tick each sample is validated on its own, so one bad sample is dead-lettered
 * alone (see `itemMessage`) and the rest of the tick is stored.
 */
export class AvroSampleDecoder implements BatchDecoder {
  decode(messages: readonly IncomingMessage[], now: number): DecodedBatch {
    const samples: Sample[] = [];
    const rejects: DecodedBatch['rejects'] = [];
    for (const message of messages) {
      let decoded;
      try {
        decoded = decodeMessage(message.value);
      } catch (err) {
        rejects.push({ message, rejection: rejectionOf(err) });
        continue;
      }
      if (decoded.kind !== 'tick') {
        try {
          validateSample(decoded, now);
          samples.push(decoded);
        } catch (err) {
          rejects.push({ message, rejection: rejectionOf(err) });
        }
        continue;
      }
      const { host, vms } = decoded.tick;
      if (!host && vms.length === 0) {
        rejects.push({ message, rejection: { code: 'SAMPLE_EMPTY', reason: 'host tick holds no sample (host is null and vms is empty)' } });
        continue;
      }
      if (host) this.accept({ kind: 'host', sample: host }, 'host', message, now, samples, rejects);
      for (let i = 0; i < vms.length; i++) {
        const vm = vms[i]!;
        const item: Sample = { kind: 'vm', sample: vm };
        // A tick is one host's: a VM naming another host is a producer bug, and storing it would
        // file the VM under the wrong host.
        if (host && vm.hostId !== host.hostId) {
          const rejection = { code: 'SAMPLE_INVALID_FIELD', reason: `hostId ${JSON.stringify(vm.hostId)} differs from the tick's host ${JSON.stringify(host.hostId)}`, field: 'hostId' };
          rejects.push({ message: itemMessage(message, item, `vms[${i}]`), rejection });
          continue;
        }
        this.accept(item, `vms[${i}]`, message, now, samples, rejects);
      }
    }
    return { samples, rejects };
  }

  private accept(item: Sample, where: string, message: IncomingMessage, now: number, samples: Sample[], rejects: DecodedBatch['rejects']): void {
    try {
      validateSample(item, now);
      samples.push(item);
    } catch (err) {
      rejects.push({ message: itemMessage(message, item, where), rejection: rejectionOf(err) });
    }
  }
}

/**
 * The dead-letter form of one bad sample of a host tick: that sample alone, as a single-sample
 * message (so it can be read, fixed and replayed like any other), keyed and offset like its
 * tick, with a header saying where in the tick it was.
 */
function itemMessage(message: IncomingMessage, item: Sample, where: string): IncomingMessage {
  let value: Buffer | null;
  try {
    value = encodeSample(item);
  } catch {
    value = message.value; // not re-encodable: keep the whole tick rather than lose the evidence
  }
  return { ...message, value, headers: { ...message.headers, [DLQ_HEADERS.tickItem]: where } };
}
