/**
 * Turns a series' scores into alarms: a sample alarms when its score reaches the threshold, it
 * is eligible (learned from, material) and no alarm was raised in the last `refractorySamples`
 * samples; an ineligible or held-back sample's score is held just below the threshold, so NAB
 * counts it as no detection either. The detector gates with it live, and the threshold sweep
 * replays a recorded run through it at each candidate threshold: one implementation of the rule.
 */
export class AlarmGate {
  private lastAlarm = -Infinity;

  constructor(
    readonly threshold: number,
    readonly refractorySamples: number,
  ) {}

  /** Bytes of state held (its three numbers). */
  get stateBytes(): number {
    return 3 * 8;
  }

  /** Gates the score of learned sample number `index` (late samples pass the index of the next one). */
  apply(index: number, score: number, eligible: boolean): { score: number; alarm: boolean } {
    if (score < this.threshold) return { score, alarm: false };
    if (!eligible || index - this.lastAlarm <= this.refractorySamples) return { score: this.threshold * (1 - 1e-9), alarm: false };
    this.lastAlarm = index;
    return { score, alarm: true };
  }
}
