export { SpoolingProducer, type SpoolingProducerOptions, type SpoolState, type SpoolStats } from './producer.ts';
export { CodedProducer, classifySendError, sendError, type SendFailure } from './errors.ts';
export { readProgress, resumeWindow, writeProgress, type RunProgress } from './progress.ts';
export { encodeRecord, parseSegment, type SpoolRecord } from './record.ts';
