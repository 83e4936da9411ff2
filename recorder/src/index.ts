// @flowtape/recorder: the flow runtime, tracing (record / resume with a bundle), the bundle writer and verify.
export * from './runtime/index.ts';
export {
  DEFAULT_RUNS_ROOT,
  DETERMINISTIC_EPOCH,
  makeRunId,
  record,
  RecordError,
  resumeRecorded,
  steppingClock,
  type RecordOptions,
  type RecordResult,
  type ResumeRecordOptions,
} from './record.ts';
export * from './bundle/index.ts';
export { verifyBundle, VerifyInputError, type VerifyOptions, type VerifyProblem, type VerifyReport } from './tools/verify.ts';
export { AGENT_OUTPUT_CAP_BYTES } from './acp/traffic.ts';
