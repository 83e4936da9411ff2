// Public surface of the bundle writer.
export { createRecorder, RecorderError, type CloseOptions, type Recorder, type RecorderOptions, type RecorderSummary } from './recorder.ts';
export {
  composeHooks,
  mcpSecrets,
  mcpServersForBinding,
  redactMcpInMessage,
  redactMcpServers,
  replacingHook,
  secretsFromEnv,
  SECRET_NAME,
  type RedactHook,
  type Replacement,
} from './redact.ts';
export { loadWaitingBundle, resolveValue, ResumeBundleError, type WaitingBundle } from './resume-state.ts';
export { TraceWriter, TraceExistsError, type TraceWriterOptions, type UnsequencedEvent } from './trace-writer.ts';
export { SerialBatcher } from './batcher.ts';
export { UnsafeBundleError } from './confine.ts';
