export { SAMPLE_TABLES, ANOMALY_TABLE, sampleTableDdl, ensureSampleTables } from './tables.ts';
export { QuestDbSampleStore, type SampleStore } from './sample-store.ts';
export { SampleWorker, type WorkerStats, type SampleWorkerDeps } from './worker.ts';
export { DLQ_HEADERS, deadLetter, type Rejection } from './dead-letter.ts';
export { AnomalyStage, SCORED_METRICS, type AnomalyEvent, type SeriesDetector, type DetectorFactory, type DetectorVerdict, type ScoredMetric } from './anomaly-stage.ts';
export { AnomalySink } from './anomaly-sink.ts';
export { createSampleWorker } from './compose.ts';
