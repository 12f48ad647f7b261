/**
 * Published reference results: what CloudSim 3.0.3's PlanetLab runners printed on the days we
 * hold (../shared/data/traces/planetlab/SOURCE.md and ../shared/docs/planetlab-benchmark.md §10).
 * Percent fields are as printed (already ×100). Only used as labelled reference rows.
 */
export interface ReferenceRow {
  day: string;
  /** Policy name as the benchmark prints it. */
  policy: string;
  /** Which VM numbering produced the row. */
  order: 'order-file' | 'sorted';
  energyKWh: number;
  migrations?: number;
  slatahPct?: number;
  pdmPct?: number;
  slavPct?: number;
  overallSlaPct?: number;
  averageSlaPct?: number;
  hostShutdowns?: number;
}

const row = (day: string, policy: string, energyKWh: number, migrations: number, slatahPct: number, pdmPct: number, slavPct: number, overallSlaPct: number, averageSlaPct: number, hostShutdowns: number): ReferenceRow =>
  ({ day, policy, order: 'order-file', energyKWh, migrations, slatahPct, pdmPct, slavPct, overallSlaPct, averageSlaPct, hostShutdowns });

/** CloudSim 3.0.3 output (tag cloudsim-3.0.3, commit 46c46604), listing order of the day's file-order list. */
export const CLOUDSIM_REFERENCE: readonly ReferenceRow[] = [
  row('20110303', 'NPA', 2410.8, 0, 0, 0, 0, 0, 0, 473),
  row('20110303', 'DVFS', 764.96, 0, 0, 0, 0, 0, 0, 473),
  row('20110303', 'THR-MMT 0.8', 198.08, 27728, 5.0, 0.07, 0.00357, 0.08, 10.16, 6109),
  row('20110303', 'THR-MMT 1.0', 168.71, 47987, 15.68, 0.19, 0.02915, 0.56, 9.25, 6309),
  row('20110303', 'IQR-MMT 1.5', 193.63, 27592, 5.02, 0.07, 0.00342, 0.08, 10.12, 6045),
  row('20110303', 'MAD-MMT 2.5', 189.79, 27781, 5.09, 0.07, 0.00357, 0.08, 10.18, 5981),
  row('20110303', 'LR-MMT 1.2', 167.83, 27649, 5.72, 0.08, 0.00432, 0.13, 9.52, 5190),
  row('20110306', 'DVFS', 618.28, 0, 0, 0, 0, 0, 0, 544),
  row('20110306', 'THR-MMT 0.8', 150.7, 21575, 5.21, 0.08, 0.00398, 0.08, 10.31, 4869),
  row('20110306', 'IQR-MMT 1.5', 147.93, 21748, 5.31, 0.08, 0.00401, 0.09, 10.06, 4846),
  row('20110306', 'MAD-MMT 2.5', 145.85, 22129, 5.4, 0.08, 0.00438, 0.1, 10.33, 4873),
  row('20110306', 'LR-MMT 1.2', 127.98, 21661, 5.99, 0.08, 0.00497, 0.16, 9.79, 4159),
  // CloudSim 3.0.3 rerun with the files in sorted order (benchmark spec §10): energy, migrations, SLATAH, SLAV only.
  { day: '20110303', policy: 'DVFS', order: 'sorted', energyKWh: 802.75, migrations: 0 },
  { day: '20110303', policy: 'THR-MMT 0.8', order: 'sorted', energyKWh: 192.62, migrations: 26711, slatahPct: 4.91, slavPct: 0.00318 },
  { day: '20110303', policy: 'THR-MMT 1.0', order: 'sorted', energyKWh: 163.01, migrations: 46067, slatahPct: 15.99, slavPct: 0.02851 },
  { day: '20110303', policy: 'IQR-MMT 1.5', order: 'sorted', energyKWh: 189.98, migrations: 26282, slatahPct: 4.82, slavPct: 0.00301 },
  { day: '20110303', policy: 'MAD-MMT 2.5', order: 'sorted', energyKWh: 185.79, migrations: 26556, slatahPct: 5.05, slavPct: 0.00334 },
  { day: '20110303', policy: 'LR-MMT 1.2', order: 'sorted', energyKWh: 163.48, migrations: 27859, slatahPct: 5.86, slavPct: 0.00464 },
];

/** The reference row of a policy on a day under a VM numbering, if one was published. */
export function referenceRow(day: string, policy: string, order: ReferenceRow['order']): ReferenceRow | undefined {
  return CLOUDSIM_REFERENCE.find((r) => r.day === day && r.policy === policy && r.order === order);
}
