import { topicsFor, type Config } from '../../core/index.ts';
import type { BatchDecoder } from '../decoder.ts';
import { CollectdDecoder, type CollectdDecoderOptions } from './decoder.ts';

export { CollectdDecoder, COLLECTD_CODES, COLLECTD_SOURCE_OFFSETS_HEADER, type CollectdDecoderOptions, type CollectdDecoderStats } from './decoder.ts';
export { parseValueLists, type ValueList } from './value-list.ts';

/** The decoders a streams worker needs for collectd's topic (`<prefix>.collectd`), keyed by topic. */
export function collectdDecoders(config: Config, options: CollectdDecoderOptions = {}): Record<string, BatchDecoder> {
  return { [topicsFor(config).collectd]: new CollectdDecoder(options) };
}
