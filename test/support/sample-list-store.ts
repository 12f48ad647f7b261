import type { Sample } from '../../schemas/index.ts';
import { writeSamples, type EncodedRows, type SampleStore } from '../../streams/index.ts';

/** A test store's encoded rows: a copy of the samples themselves. */
export interface SampleList extends EncodedRows {
  readonly samples: readonly Sample[];
}

/**
 * Base of the test doubles of SampleStore that look at the samples they are given: encoding
 * copies the list, merging concatenates, and a subclass decides what a write does.
 */
export abstract class SampleListStore implements SampleStore<SampleList> {
  encode(samples: readonly Sample[]): SampleList {
    return { rows: samples.length, samples: [...samples] };
  }

  merge(parts: readonly SampleList[]): SampleList {
    const samples = parts.flatMap((p) => p.samples);
    return { rows: samples.length, samples };
  }

  write(samples: readonly Sample[]): Promise<void> {
    return writeSamples(this, samples);
  }

  abstract writeEncoded(rows: SampleList): Promise<void>;

  release(): void {}

  async close(): Promise<void> {}
}
