/** The bundle writer's public face: its options, the Recorder it returns, what close() reports. */
import type { ErrorInfo, Manifest, RunStatus, TraceEvent, UsageTotals } from '@flowtape/schema';
import type { LifecycleObserver } from '../runtime/lifecycle.ts';
import type { RedactHook, Replacement } from './redact.ts';

export interface RecorderOptions {
  /** Lock every batch (proper-lockfile): another process may append to the same bundle. */
  shared?: boolean;
  /** Continue an existing bundle (a resumed run): implies `shared`, reads the runId from the manifest. */
  resume?: boolean;
  /**
   * Resume only: the trace seq the resume state was read at. `run.resumed` is appended only if, under the lock,
   * the run still waits and the trace still ends there; otherwise the writer refuses it (AppendRefusedError).
   */
  resumeAfterSeq?: number;
  /** Samples and goldens: no pids, hostnames or absolute paths in the bundle. */
  deterministic?: boolean;
  /**
   * Applied to every text before it is written. Default: values of environment variables named like secrets
   * (`*TOKEN*`, `*SECRET*`, `*KEY*`, `*PASSWORD*`, `*AUTH*`, …) become `[redacted:NAME]`, and so do the variables an
   * agent names for its credentials (its `env_var` auth methods), whatever their name. `false` turns redaction off.
   */
  redact?: RedactHook | false;
  /** The environment the default redaction reads: the agents' (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Extra literal replacements (applied with the default redaction). */
  replacements?: Replacement[];
  /** Values whose JSON is at most this many bytes are stored inline (default 2048). */
  inlineLimit?: number;
  /** Minimum time between two throttled snapshots (default 1000 ms). */
  snapshotIntervalMs?: number;
  /** Recorded as flow.json `flowFile` (the flow file the run came from, for `flowtape resume`). */
  flowFile?: string;
  /** Recorded as manifest `replayOf` (`flowtape replay`: the run this one replays). */
  replayOf?: Manifest['replayOf'];
  /** Recorded as manifest `permissionPolicy` (the run's own, `--permission`); a resume keeps the recorded one. */
  permissionPolicy?: Manifest['permissionPolicy'];
  /** Called once when writing fails (disk full, permissions): the bundle cannot be completed. */
  onError?: (error: Error) => void;
  /** Non-fatal problems (a duplicate outcome, a torn line removed under the lock). */
  onWarning?: (message: string) => void;
  /** Consumers of the trace as it is committed (live OpenTelemetry export). */
  traceObservers?: readonly TraceObserver[];
  /**
   * The outermost folder the caller made for this bundle just now (what `mkdirSync(bundleDir, { recursive: true })`
   * returned; record() passes it): the bundle folder is new, so what the writer writes in it is not lstat-ed first
   * (no symlink can be there), and the name of every folder made (in its parent) is fsynced before close() returns.
   */
  madeFolder?: string;
}

/**
 * Sees every event this writer commits to trace.ndjson, in order, right after the lines are on disk (session lines
 * and artifacts they reference are already written). Called inside the writer: it must be quick and must not throw.
 */
export interface TraceObserver {
  onCommitted(events: readonly TraceEvent[]): void;
  /** The last event is committed: finish within bounded time; the warnings it returns are kept in the manifest. */
  close(): Promise<string[]>;
}

export interface RecorderSummary {
  bundleDir: string;
  runId: string;
  status: RunStatus;
  lastSeq: number;
  complete: boolean;
  warnings: string[];
  /** Every turn's usage (tokens, cost per currency), folded over the whole trace; absent when none was reported. */
  usage?: UsageTotals;
}

export interface CloseOptions {
  /** The runtime failed without emitting a final event: record this as the run's failure. */
  error?: ErrorInfo;
}

export interface Recorder extends LifecycleObserver {
  readonly bundleDir: string;
  /** Everything queued so far is on disk, with a fresh snapshot (for watchers and tests). */
  flush(): Promise<void>;
  /** Ends the bundle: closes attempts and the run if the runtime did not, flushes, fsyncs, marks it complete. */
  close(options?: CloseOptions): Promise<RecorderSummary>;
}

export class RecorderError extends Error {
  override name = 'RecorderError';
}
