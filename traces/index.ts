// The evaluation traces' readers, one per format, shared by ingest/, models/ and replay/.
// A leaf folder: it imports only core/. What each user makes of the values (CloudSim's
// utilisation, forecasting series, Kafka samples) stays with that user.
export {
  PLANETLAB_SAMPLES,
  PLANETLAB_STEP_SECONDS,
  planetLabDays,
  planetLabDayStart,
  listPlanetLabFiles,
  parsePlanetLabText,
  readPlanetLabFile,
  defaultOrderFile,
  readOrderFile,
  planetLabFileOrder,
  readPlanetLabDay,
  type FileOrderSource,
  type PlanetLabDay,
  type PlanetLabReadOptions,
} from './planetlab.ts';
export { parseBitbrainsCsv, readBitbrainsFile, listBitbrainsFiles, bitbrainsMonths, type BitbrainsTable } from './bitbrains.ts';
export { parseAzureWide, readAzureWide, readAzureFolder, type AzureWideTable } from './azure.ts';
export { parseAlibabaMachineUsage, readAlibabaMachineUsage, type AlibabaMachineUsage } from './alibaba.ts';
export { discoverTraceFolders, type TraceFolder, type TraceKind } from './folders.ts';
