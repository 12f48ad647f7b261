export { SAMPLE_TABLES, sampleTableDdl, ensureSampleTables } from './tables.ts';
