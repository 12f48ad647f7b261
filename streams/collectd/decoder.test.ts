import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig, topicsFor, type IncomingMessage } from '../../core/index.ts';
import type { HostSample, VmSample } from '../../schemas/index.ts';
import type { DecodedBatch } from '../decoder.ts';
import { COLLECTD_SOURCE_OFFSETS_HEADER, CollectdDecoder, collectdDecoders, type CollectdDecoderOptions, type ValueList } from './index.ts';

// Captured from Debian 12's collectd 5.12 (write_kafka, Format JSON, StoreRates true, Interval 2,
// virt with HostnameFormat "hostname", PluginInstanceFormat "name", ExtraStats "vcpu memory pcpu
// cpu_util domain_state vcpupin"; cpu/memory/interface/disk) reading a QEMU guest on
// qemu:///system: the messages of four reads, in the order Kafka returned them (eth0/vda only,
// and disk_ops/domain_state kept as examples of value lists no sample uses).
const CAPTURE = [
  '[{"values":[1388298240],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"used"}]',
  '[{"values":[35729408],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_unrecl"}]',
  '[{"values":[175616000],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_recl"}]',
  '[{"values":[null,null],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"interface","plugin_instance":"eth0","type":"if_octets","type_instance":""}]',
  '[{"values":[1,1],"dstypes":["gauge","gauge"],"dsnames":["state","reason"],"time":1796304176.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"domain_state","type_instance":""}]',
  '[{"values":[null],"dstypes":["derive"],"dsnames":["value"],"time":1796304176.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_cpu_total","type_instance":""}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"total"}]',
  '[{"values":[null],"dstypes":["derive"],"dsnames":["value"],"time":1796304176.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_vcpu","type_instance":"0"}]',
  '[{"values":[1720705024],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"cached"}]',
  '[{"values":[2],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"count","type_instance":""}]',
  '[{"values":[21928398848],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"free"}]',
  '[{"values":[27324416],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"buffered"}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.235,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"actual_balloon"}]',
  '[{"values":[44548096],"dstypes":["gauge"],"dsnames":["value"],"time":1796304176.235,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"rss"}]',
  '[{"values":[null,null],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304176.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_ops","type_instance":"hdc"}]',
  '[{"values":[null,null],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304176.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_octets","type_instance":"hdc"}]',
  '[{"values":[null,null],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304176.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"if_octets","type_instance":"vnet0"}]',
  '[{"values":[1720885248],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"cached"}]',
  '[{"values":[1379876864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"used"}]',
  '[{"values":[2.28426395939086],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"user"}]',
  '[{"values":[0.50761421319797],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"system"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"wait"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"nice"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"interrupt"}]',
  '[{"values":[0.253807106598985],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"softirq"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"steal"}]',
  '[{"values":[96.9543147208122],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"idle"}]',
  '[{"values":[21936656384],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"free"}]',
  '[{"values":[35708928],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_unrecl"}]',
  '[{"values":[175620096],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_recl"}]',
  '[{"values":[27324416],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"buffered"}]',
  '[{"values":[2],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"count","type_instance":""}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"interface","plugin_instance":"eth0","type":"if_octets","type_instance":""}]',
  '[{"values":[null,null],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304178.223,"interval":2.000,"host":"probe-host","plugin":"disk","plugin_instance":"vda","type":"disk_octets","type_instance":""}]',
  '[{"values":[1,1],"dstypes":["gauge","gauge"],"dsnames":["state","reason"],"time":1796304178.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"domain_state","type_instance":""}]',
  '[{"values":[14994909.91027],"dstypes":["derive"],"dsnames":["value"],"time":1796304178.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_cpu_total","type_instance":""}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"total"}]',
  '[{"values":[9996274.11937713],"dstypes":["derive"],"dsnames":["value"],"time":1796304178.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_vcpu","type_instance":"0"}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"actual_balloon"}]',
  '[{"values":[43675648],"dstypes":["gauge"],"dsnames":["value"],"time":1796304178.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"rss"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304178.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_ops","type_instance":"hdc"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304178.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_octets","type_instance":"hdc"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304178.236,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"if_octets","type_instance":"vnet0"}]',
  '[{"values":[2],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"count","type_instance":""}]',
  '[{"values":[73.9240506329114],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"user"}]',
  '[{"values":[8.35443037974684],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"system"}]',
  '[{"values":[0.253164556962025],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"wait"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"nice"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"interrupt"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"softirq"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"steal"}]',
  '[{"values":[17.4683544303797],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"idle"}]',
  '[{"values":[1442717696],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"used"}]',
  '[{"values":[25821184],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"buffered"}]',
  '[{"values":[1736552448],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"cached"}]',
  '[{"values":[21858979840],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"free"}]',
  '[{"values":[175714304],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_recl"}]',
  '[{"values":[36286464],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_unrecl"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"interface","plugin_instance":"eth0","type":"if_octets","type_instance":""}]',
  '[{"values":[813068.089155655,69045250.6037899],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304180.223,"interval":2.000,"host":"probe-host","plugin":"disk","plugin_instance":"vda","type":"disk_octets","type_instance":""}]',
  '[{"values":[1,1],"dstypes":["gauge","gauge"],"dsnames":["state","reason"],"time":1796304180.228,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"domain_state","type_instance":""}]',
  '[{"values":[885602907.379405],"dstypes":["derive"],"dsnames":["value"],"time":1796304180.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_cpu_total","type_instance":""}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"total"}]',
  '[{"values":[880621501.255292],"dstypes":["derive"],"dsnames":["value"],"time":1796304180.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_vcpu","type_instance":"0"}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"actual_balloon"}]',
  '[{"values":[45887488],"dstypes":["gauge"],"dsnames":["value"],"time":1796304180.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"rss"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304180.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_ops","type_instance":"hdc"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304180.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_octets","type_instance":"hdc"}]',
  '[{"values":[168.303345048716,583.050873918765],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304180.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"if_octets","type_instance":"vnet0"}]',
  '[{"values":[1289.87942373611,1169.89064013275],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304182.223,"interval":2.000,"host":"probe-host","plugin":"interface","plugin_instance":"eth0","type":"if_octets","type_instance":""}]',
  '[{"values":[2],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"count","type_instance":""}]',
  '[{"values":[90.7268170426065],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"user"}]',
  '[{"values":[9.02255639097744],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"system"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"wait"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"nice"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"interrupt"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"softirq"}]',
  '[{"values":[0.25062656641604],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"steal"}]',
  '[{"values":[26984448],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"buffered"}]',
  '[{"values":[21597159424],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"free"}]',
  '[{"values":[36626432],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_unrecl"}]',
  '[{"values":[176467968],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"slab_recl"}]',
  '[{"values":[1736929280],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"cached"}]',
  '[{"values":[18391.6129778774,151219.928929214],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"disk","plugin_instance":"vda","type":"disk_octets","type_instance":""}]',
  '[{"values":[1701904384],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"memory","plugin_instance":"","type":"memory","type_instance":"used"}]',
  '[{"values":[0],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"cpu","plugin_instance":"","type":"percent","type_instance":"idle"}]',
  '[{"values":[1,1],"dstypes":["gauge","gauge"],"dsnames":["state","reason"],"time":1796304182.228,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"domain_state","type_instance":""}]',
  '[{"values":[589927078.963705],"dstypes":["derive"],"dsnames":["value"],"time":1796304182.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_cpu_total","type_instance":""}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"total"}]',
  '[{"values":[594931330.13435],"dstypes":["derive"],"dsnames":["value"],"time":1796304182.229,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"virt_vcpu","type_instance":"0"}]',
  '[{"values":[67108864],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"actual_balloon"}]',
  '[{"values":[45887488],"dstypes":["gauge"],"dsnames":["value"],"time":1796304182.230,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"memory","type_instance":"rss"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304182.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_octets","type_instance":"hdc"}]',
  '[{"values":[0,0],"dstypes":["derive","derive"],"dsnames":["read","write"],"time":1796304182.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"disk_ops","type_instance":"hdc"}]',
  '[{"values":[35.0026181016747,256.019149543678],"dstypes":["derive","derive"],"dsnames":["rx","tx"],"time":1796304182.232,"interval":2.000,"host":"probe-host","plugin":"virt","plugin_instance":"nct-16108-1-d52a60","type":"if_octets","type_instance":"vnet0"}]',
];

const HOST = 'probe-host';
const VM = 'nct-16108-1-d52a60';
/** A few seconds after the capture: validation's clock. */
const NOW = 1796304190_000;

const parse = (raw: string) => JSON.parse(raw) as ValueList[];
const vlOf = (raw: string) => parse(raw)[0]!;

function messages(raws: readonly string[], firstOffset = 0): IncomingMessage[] {
  return raws.map((raw, i) => ({ key: HOST, value: Buffer.from(raw), headers: {}, offset: String(firstOffset + i), timestamp: Math.round(vlOf(raw).time * 1000) }));
}

/** The capture's reads: value lists grouped by the whole second they were read in (2 s apart). */
const READS = [...new Set(CAPTURE.map((r) => Math.floor(vlOf(r).time / 2) * 2))].sort((a, b) => a - b);
const inRead = (raw: string, read: number) => Math.floor(vlOf(raw).time / 2) * 2 === read;
const find = (read: number, pred: (vl: ValueList) => boolean) => CAPTURE.filter((r) => inRead(r, read) && pred(vlOf(r))).map(vlOf);
const one = (read: number, pred: (vl: ValueList) => boolean) => {
  const found = find(read, pred);
  assert.equal(found.length, 1, `one value list in read ${read}`);
  return found[0]!;
};
const isVirt = (type: string, ti?: string) => (vl: ValueList) => vl.plugin === 'virt' && vl.type === type && (ti === undefined || vl.type_instance === ti);

const vmSamples = (out: DecodedBatch) => out.samples.flatMap((s) => (s.kind === 'vm' ? [s.sample] : [])).sort((a, b) => a.ts - b.ts);
const hostSamples = (out: DecodedBatch) => out.samples.flatMap((s) => (s.kind === 'host' ? [s.sample] : [])).sort((a, b) => a.ts - b.ts);

function decodeAll(raws: readonly string[], options: CollectdDecoderOptions = {}, batchSize = raws.length): { out: DecodedBatch; decoder: CollectdDecoder } {
  const decoder = new CollectdDecoder(options);
  const all = messages(raws);
  const out: DecodedBatch = { samples: [], rejects: [] };
  for (let i = 0; i < all.length; i += batchSize) {
    const part = decoder.decode(all.slice(i, i + batchSize), NOW);
    out.samples.push(...part.samples);
    out.rejects.push(...part.rejects);
  }
  return { out, decoder };
}

/** The virt read's last value list: the sample's timestamp. */
function vmReadEnd(read: number): number {
  return Math.round(Math.max(...find(read, (vl) => vl.plugin === 'virt' && ['virt_cpu_total', 'virt_vcpu', 'memory', 'disk_octets', 'if_octets'].includes(vl.type)).map((vl) => vl.time)) * 1000);
}

describe('CollectdDecoder on a real collectd 5.12 capture', () => {
  test('one VM sample per read once collectd has rates, in our units (ns/s → cores, bytes/s, bytes)', () => {
    const { out, decoder } = decodeAll(CAPTURE);
    const vms = vmSamples(out);
    // The first read has no rates yet (collectd needs two reads of a counter).
    assert.deepEqual(vms.map((s) => s.ts), READS.slice(1).map(vmReadEnd));
    for (const s of vms) {
      const read = READS.find((r) => vmReadEnd(r) === s.ts)!;
      const cpu = one(read, isVirt('virt_cpu_total')).values[0]!;
      const nic = one(read, isVirt('if_octets'));
      const expected: VmSample = {
        ts: s.ts, hostId: HOST, vmId: VM,
        cpuUsedCores: cpu / 1e9,
        vcpus: find(read, isVirt('virt_vcpu')).length,
        // No balloon driver in this guest: QEMU's RSS, capped at the allocation.
        memUsedBytes: Math.min(one(read, isVirt('memory', 'rss')).values[0]!, one(read, isVirt('memory', 'total')).values[0]!),
        memTotalBytes: one(read, isVirt('memory', 'total')).values[0]!,
        diskReadBps: one(read, isVirt('disk_octets')).values[0]!,
        diskWriteBps: one(read, isVirt('disk_octets')).values[1]!,
        netRxBps: nic.values[0]!,
        netTxBps: nic.values[1]!,
        vcpuDelayPct: 0,
      };
      assert.deepEqual(s, expected);
    }
    assert.ok(vms.some((s) => s.cpuUsedCores > 0.1 && s.netRxBps > 0), 'the booting guest used CPU and its NIC');
    const firstVm = out.rejects.find((r) => r.rejection.code === 'COLLECTD_INCOMPLETE' && /VM /.test(r.rejection.reason));
    assert.ok(firstVm, 'the first read of the VM goes to the DLQ');
    assert.match(firstVm.rejection.reason, /no rate yet for virt_cpu_total/);
    // Its DLQ record is collectd JSON of what the group had, with every source offset.
    const record = parse(firstVm.message.value!.toString());
    assert.ok(record.length >= 5 && record.every((vl) => vl.plugin === 'virt' && Math.floor(vl.time / 2) * 2 === READS[0]));
    const offsets = firstVm.message.headers[COLLECTD_SOURCE_OFFSETS_HEADER]!.split(',').map(Number);
    assert.deepEqual(offsets.map((o) => vlOf(CAPTURE[o]!).plugin), offsets.map(() => 'virt'));
    assert.equal(decoder.stats.late, 0);
    assert.ok(decoder.stats.ignored > 0, 'disk_ops, domain_state... are read and ignored');
  });

  test('host samples: CPU % of all time × CPU count, memory states summed, NIC and disk rates', () => {
    const { out } = decodeAll(CAPTURE);
    const hosts = hostSamples(out);
    assert.ok(hosts.length >= 2, `host samples: ${hosts.length}`);
    for (const s of hosts) {
      const read = READS.find((r) => r === Math.floor(s.ts / 2000) * 2)!;
      const cpu = find(read, (vl) => vl.plugin === 'cpu');
      const count = cpu.find((vl) => vl.type === 'count')!.values[0]!;
      const pct = (state: string) => cpu.find((vl) => vl.type === 'percent' && vl.type_instance === state)?.values[0] ?? 0;
      const all = cpu.filter((vl) => vl.type === 'percent').reduce((a, vl) => a + vl.values[0]!, 0);
      const mem = find(read, (vl) => vl.plugin === 'memory');
      const nic = find(read, (vl) => vl.plugin === 'interface');
      const disk = find(read, (vl) => vl.plugin === 'disk');
      const expected: HostSample = {
        ts: s.ts, hostId: HOST,
        cpuUsedCores: ((all - pct('idle') - pct('wait') - pct('steal')) / all) * count,
        cpuCapacityCores: count,
        memUsedBytes: mem.find((vl) => vl.type_instance === 'used')!.values[0]!,
        memTotalBytes: mem.reduce((a, vl) => a + vl.values[0]!, 0),
        diskReadBps: disk.reduce((a, vl) => a + vl.values[0]!, 0),
        diskWriteBps: disk.reduce((a, vl) => a + vl.values[1]!, 0),
        netRxBps: nic.reduce((a, vl) => a + vl.values[0]!, 0),
        netTxBps: nic.reduce((a, vl) => a + vl.values[1]!, 0),
        cpuStealPct: (pct('steal') / all) * 100,
      };
      assert.equal(s.hostId, HOST);
      for (const [k, v] of Object.entries(expected)) if (k !== 'hostId') assert.ok(Math.abs((s as unknown as Record<string, number>)[k]! - (v as number)) < 1e-6 * Math.max(1, Math.abs(v as number)), `${k}: ${(s as unknown as Record<string, number>)[k]} vs ${v}`);
    }
  });

  test('batch boundaries do not change what comes out', () => {
    const whole = decodeAll(CAPTURE).out;
    for (const size of [1, 5, 13]) {
      const { out } = decodeAll(CAPTURE, {}, size);
      assert.deepEqual(vmSamples(out), vmSamples(whole), `batches of ${size}`);
      assert.deepEqual(hostSamples(out), hostSamples(whole), `batches of ${size}`);
      assert.deepEqual(out.rejects.map((r) => r.rejection.code).sort(), whole.rejects.map((r) => r.rejection.code).sort());
    }
  });

  test('a read missing a value list is rejected COLLECTD_INCOMPLETE when the next read arrives, naming what was missing', () => {
    const gap = READS[2]!;
    const { out } = decodeAll(CAPTURE.filter((r) => !(inRead(r, gap) && isVirt('virt_cpu_total')(vlOf(r)))));
    assert.deepEqual(vmSamples(out).map((s) => s.ts), [READS[1]!, READS[3]!].map(vmReadEnd));
    const dlq = out.rejects.filter((r) => r.rejection.code === 'COLLECTD_INCOMPLETE' && r.rejection.reason.includes(VM));
    assert.equal(dlq.length, 2, 'the first read (no rates) and the gap');
    assert.match(dlq[1]!.rejection.reason, /the next interval arrived first\): missing virt_cpu_total$/);
  });

  test('without ExtraStats "vcpu" no VM sample is complete: every read is rejected, naming the setting', () => {
    const { out, decoder } = decodeAll(CAPTURE.filter((r) => !isVirt('virt_vcpu')(vlOf(r))));
    assert.equal(vmSamples(out).length, 0);
    const dlq = out.rejects.filter((r) => r.rejection.reason.includes(VM));
    assert.equal(dlq.length, READS.length - 1, 'each closed by the next read; the last is still open');
    for (const r of dlq) assert.match(r.rejection.reason, /missing virt_vcpu \(set ExtraStats "vcpu"/);
    assert.equal(decoder.openGroups, 1);
  });

  test('a disk that appears later is late once, then waited for', () => {
    const [r2, r3] = [READS[2]!, READS[3]!];
    const extraDisk = (read: number, values: number[]) => {
      const disk = one(read, isVirt('disk_octets'));
      return JSON.stringify([{ ...disk, type_instance: 'hdd', values }]);
    };
    const raws: string[] = [];
    for (const r of CAPTURE) {
      raws.push(r);
      const vl = vlOf(r);
      if (isVirt('if_octets')(vl) && inRead(r, r2)) raws.push(extraDisk(r2, [100, 200]));
      if (isVirt('virt_cpu_total')(vl) && inRead(r, r3)) raws.push(extraDisk(r3, [300, 400])); // early in the read this time
    }
    const { out } = decodeAll(raws);
    const late = out.rejects.filter((r) => r.rejection.code === 'COLLECTD_LATE');
    assert.equal(late.length, 1);
    assert.equal(parse(late[0]!.message.value!.toString())[0]!.type_instance, 'hdd');
    const last = vmSamples(out).at(-1)!;
    assert.equal(last.ts, vmReadEnd(r3));
    assert.equal(last.diskReadBps, one(r3, isVirt('disk_octets')).values[0]! + 300);
    assert.equal(last.diskWriteBps, one(r3, isVirt('disk_octets')).values[1]! + 400);
  });

  test('a batch delivered again (its store write failed for good) is dead-lettered COLLECTD_LATE, not grouped twice', () => {
    const decoder = new CollectdDecoder();
    const all = messages(CAPTURE);
    const m = Math.floor(all.length / 2);
    decoder.decode(all.slice(0, m), NOW);
    const first = decoder.decode(all.slice(m), NOW);
    assert.ok(first.samples.length > 0);
    assert.equal(decoder.openGroups, 0);
    const again = decoder.decode(all.slice(m), NOW);
    assert.equal(again.samples.length, 0);
    // Every value list a sample would use is in the DLQ, each in a record of its own: nothing is dropped.
    const used = all.slice(m).filter((msg) => !/"type":"(disk_ops|domain_state)"|"type_instance":"actual_balloon"/.test(msg.value!.toString()));
    assert.deepEqual(again.rejects.map((r) => r.rejection.code), used.map(() => 'COLLECTD_LATE'));
    assert.deepEqual(again.rejects.map((r) => r.message.offset), used.map((msg) => msg.offset));
    assert.match(again.rejects[0]!.rejection.reason, /delivered again, or out of order/);
  });

  test('a value list for an interval already closed is rejected COLLECTD_LATE', () => {
    const decoder = new CollectdDecoder();
    decoder.decode(messages(CAPTURE), NOW);
    const old = CAPTURE.find((r) => inRead(r, READS[2]!) && isVirt('if_octets')(vlOf(r)))!;
    const out = decoder.decode(messages([old], CAPTURE.length), NOW);
    assert.equal(out.samples.length, 0);
    assert.deepEqual(out.rejects.map((r) => [r.rejection.code, r.rejection.field]), [['COLLECTD_LATE', 'time']]);
  });

  test('a sample that fails validation is rejected with validateSample\'s code and field', () => {
    const read = READS[2]!;
    const raws = CAPTURE.map((r) => (inRead(r, read) && isVirt('virt_cpu_total')(vlOf(r)) ? JSON.stringify([{ ...vlOf(r), values: [5e9] }]) : r));
    const { out } = decodeAll(raws);
    const bad = out.rejects.filter((r) => r.rejection.code === 'SAMPLE_INVALID_FIELD');
    assert.deepEqual(bad.map((r) => r.rejection.field), ['cpuUsedCores'], '5 cores on a 1-vCPU guest');
    assert.match(bad[0]!.rejection.reason, new RegExp(`VM ${VM}`));
    assert.ok(!vmSamples(out).some((s) => s.ts === vmReadEnd(read)));
  });
});

describe('CollectdDecoder: bad input, bounds', () => {
  const template = vlOf(CAPTURE.find((r) => isVirt('virt_cpu_total')(vlOf(r)))!);
  const reject = (value: string | null) => {
    const out = new CollectdDecoder().decode([{ key: HOST, value: value === null ? null : Buffer.from(value), headers: {}, offset: '0', timestamp: NOW }], NOW);
    assert.equal(out.samples.length, 0);
    assert.equal(out.rejects.length, 1);
    return out.rejects[0]!.rejection;
  };

  test('bad JSON and wrong shapes are rejected with a code naming the field', () => {
    const cases: [string | null, string, string | undefined][] = [
      [null, 'COLLECTD_BAD_JSON', undefined],
      ['PUTVAL "h/virt/cpu" interval=10 N:1', 'COLLECTD_BAD_JSON', undefined],
      [JSON.stringify(template), 'COLLECTD_BAD_SHAPE', '$'],
      ['[]', 'COLLECTD_BAD_SHAPE', '$'],
      [JSON.stringify([1]), 'COLLECTD_BAD_SHAPE', '[0]'],
      [JSON.stringify([{ ...template, host: 7 }]), 'COLLECTD_BAD_SHAPE', '[0].host'],
      [JSON.stringify([{ ...template, host: '' }]), 'COLLECTD_BAD_SHAPE', '[0].host'],
      [JSON.stringify([{ ...template, time: 'now' }]), 'COLLECTD_BAD_SHAPE', '[0].time'],
      [JSON.stringify([{ ...template, interval: 0 }]), 'COLLECTD_BAD_SHAPE', '[0].interval'],
      [JSON.stringify([{ ...template, values: [1, 2] }]), 'COLLECTD_BAD_SHAPE', '[0].values'],
      [JSON.stringify([{ ...template, values: ['1'] }]), 'COLLECTD_BAD_SHAPE', '[0].values[0]'],
      [JSON.stringify([template, { ...template, dsnames: [3] }]), 'COLLECTD_BAD_SHAPE', '[1].dsnames[0]'],
      [JSON.stringify([{ ...template, type_instance: undefined }]), 'COLLECTD_BAD_SHAPE', '[0].type_instance'],
      // virt's default HostnameFormat "name": the VM's name in host, the hypervisor unknown.
      [JSON.stringify([{ ...template, host: VM, plugin_instance: '' }]), 'COLLECTD_BAD_SHAPE', '[0].plugin_instance'],
    ];
    for (const [value, code, field] of cases) {
      const r = reject(value);
      assert.equal(r.code, code, `${value}: ${r.reason}`);
      assert.equal(r.field, field, `${value}: ${r.reason}`);
      assert.ok(r.reason.length > 10);
    }
  });

  const firstRead = (vm: string, time: number) => JSON.stringify([{ ...template, plugin_instance: vm, time }]);

  test('open groups are capped: the least recently fed is closed first, with the reason', () => {
    const decoder = new CollectdDecoder({ maxOpenGroups: 2 });
    const out = decoder.decode(messages(['vm-a', 'vm-b', 'vm-c'].map((vm) => firstRead(vm, template.time))), NOW);
    assert.equal(decoder.openGroups, 2);
    assert.equal(out.rejects.length, 1);
    const [r] = out.rejects;
    assert.equal(r!.rejection.code, 'COLLECTD_EVICTED');
    assert.match(r!.rejection.reason, /VM vm-a .*more than 2 groups were open.*missing virt_vcpu/);
    assert.equal(parse(r!.message.value!.toString())[0]!.plugin_instance, 'vm-a');
  });

  test('a group nothing feeds any more is closed after idleMs of stream time (a VM that left)', () => {
    const decoder = new CollectdDecoder({ idleMs: 60_000 });
    const t = template.time;
    assert.equal(decoder.decode(messages([firstRead('vm-gone', t)]), NOW).rejects.length, 0);
    // Other series keep the stream's clock going; broker time, not wall time, decides.
    const later = messages([firstRead('vm-other', t + 30)], 1);
    assert.equal(decoder.decode(later, NOW).rejects.length, 0);
    const muchLater = messages([firstRead('vm-other', t + 62)], 2);
    const out = decoder.decode(muchLater, NOW);
    assert.deepEqual(out.rejects.map((r) => r.rejection.code), ['COLLECTD_INCOMPLETE', 'COLLECTD_INCOMPLETE']);
    assert.match(out.rejects.find((r) => r.rejection.reason.includes('vm-gone'))!.rejection.reason, /nothing more came for 60 s/);
  });

  test('collectdDecoders keys a decoder by the config\'s collectd topic', () => {
    const config = loadConfig({}, { NOVACRON_TOPIC_PREFIX: 'pfx' });
    const decoders = collectdDecoders(config);
    assert.deepEqual(Object.keys(decoders), [topicsFor(config).collectd]);
    assert.equal(topicsFor(config).collectd, 'pfx.collectd');
    assert.ok(decoders['pfx.collectd'] instanceof CollectdDecoder);
  });
});
