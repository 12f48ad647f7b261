export { SAMPLE_TABLES, sampleTableDdl, ensureSampleTables } from './tables.ts';
export { QuestDbSampleStore, type SampleStore } from './sample-store.ts';
export { SampleWorker, type WorkerStats, type SampleWorkerDeps } from './worker.ts';
export { DLQ_HEADERS, deadLetter, type Rejection } from './dead-letter.ts';
