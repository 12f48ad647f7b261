import { NovaError } from '../core/index.ts';

/** Watts drawn by a host as a function of its CPU utilisation u in [0, 1]. */
export interface PowerModel {
  readonly name: string;
  /** Power at 0 % CPU (an idle, switched-on host). */
  readonly idleWatts: number;
  /** Power at 100 % CPU (what the non-power-aware baseline charges all the time). */
  readonly maxWatts: number;
  /** The measured watts at 0 %, 10 %, …, 100 % CPU. */
  readonly points: readonly number[];
  power(utilization: number): number;
}

/**
 * A SPECpower-style model: measured watts at 0 %, 10 %, …, 100 % CPU, linear in between.
 * The arithmetic copies CloudSim's PowerModelSpecPower operation for operation so that
 * placement scores (differences of powers) tie and compare exactly as they do there.
 */
export function specPowerModel(name: string, watts: readonly number[]): PowerModel {
  if (watts.length !== 11 || watts.some((w) => !Number.isFinite(w) || w < 0)) {
    throw new NovaError('BACKTEST_POWER_MODEL_INVALID', `power model ${name} needs 11 non-negative watt figures (0 %, 10 %, …, 100 % CPU), got ${watts.length}`);
  }
  const table = Float64Array.from(watts);
  return {
    name,
    idleWatts: table[0]!,
    maxWatts: table[10]!,
    points: Object.freeze([...table]),
    power(u: number): number {
      if (!(u >= 0 && u <= 1)) {
        throw new NovaError('BACKTEST_POWER_RANGE', `power model ${name}: utilisation ${u} is outside [0, 1]; a host was allocated more MIPS than it has (simulator bug)`);
      }
      if (u % 0.1 === 0) return table[Math.trunc(u * 10)]!;
      const i = Math.floor(u * 10);
      const j = Math.ceil(u * 10);
      const p1 = table[i]!;
      const delta = (table[j]! - p1) / 10;
      return p1 + delta * (u - i / 10) * 100;
    },
  };
}

/** HP ProLiant ML110 G4 (Intel Xeon 3040), SPECpower_ssj2008 figures used by CloudSim. */
export const HP_PROLIANT_ML110_G4 = specPowerModel('HP ProLiant ML110 G4 (Xeon 3040)', [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]);

/** HP ProLiant ML110 G5 (Intel Xeon 3075), SPECpower_ssj2008 figures used by CloudSim. */
export const HP_PROLIANT_ML110_G5 = specPowerModel('HP ProLiant ML110 G5 (Xeon 3075)', [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135]);

/**
 * Energy (J) of one host between two processing instants, CloudSim's trapezoid: 0 when the host
 * was off (utilisation 0) at the start of the interval, whatever happens after.
 */
export function intervalEnergy(model: PowerModel, fromUtilization: number, toUtilization: number, seconds: number): number {
  if (fromUtilization === 0) return 0;
  const from = model.power(fromUtilization);
  const to = model.power(toUtilization);
  return (from + (to - from) / 2) * seconds;
}

/** IBM x3550 M3, 2 × Xeon X5670 (12 cores × 2,933 MHz), SPECpower figures CloudSim ships (PowerModelSpecPowerIbmX3550XeonX5670). */
export const IBM_X3550_XEON_X5670 = specPowerModel('IBM x3550 M3 (2 × Xeon X5670)', [66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247]);

/** IBM x3550 M3, 2 × Xeon X5675 (12 cores × 3,067 MHz), SPECpower figures CloudSim ships (PowerModelSpecPowerIbmX3550XeonX5675). */
export const IBM_X3550_XEON_X5675 = specPowerModel('IBM x3550 M3 (2 × Xeon X5675)', [58.4, 98, 109, 118, 128, 140, 153, 170, 189, 205, 222]);
