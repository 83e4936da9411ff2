/**
 * Tracing on: run a flow (or resume a waiting run) with the bundle writer attached. One call, one bundle.
 *
 *   const { bundleDir, status } = await record(flow, input, { outDir: '.flowtape/runs' });
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { BUNDLE_FILES, type UsageTotals } from '@flowtape/schema';
import { createRecorder, type RecorderOptions, type TraceObserver } from './bundle/recorder.ts';
import { mcpSecrets, type Replacement } from './bundle/redact.ts';
import { ResumeBundleError, loadWaitingBundle, notWaitingError } from './bundle/resume-state.ts';
import { AppendRefusedError } from './bundle/trace-writer.ts';
import {
  isDefinedFlow,
  resumeFlow,
  runFlow,
  validateFlow,
  type Clock,
  type FlowDefinition,
  type LifecycleEvent,
  type LifecycleObserver,
  type RunOptions,
  type RunResult,
} from './runtime/index.ts';
import { allMcpServers } from './runtime/mcp-servers.ts';
import { checkRunId } from './runtime/run.ts';
import type { LiveOtlpOptions } from './tools/export/otlp-live.ts';
import { DEFAULT_RUNS_ROOT } from './runs-root.ts';

export { DEFAULT_RUNS_ROOT };

/** Where deterministic runs start: a fixed instant, so samples and goldens are byte-identical. */
export const DETERMINISTIC_EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

/** A clock that starts at `start` and advances `stepMs` at every reading: reproducible timestamps and durations. */
export function steppingClock(start = DETERMINISTIC_EPOCH, stepMs = 1): Clock {
  let next = start;
  return {
    now() {
      const value = next;
      next += stepMs;
      return value;
    },
  };
}

export interface RecordOptions extends Omit<RunOptions, 'observer' | 'cwd'> {
  /** The run's working directory (default: process.cwd()). */
  cwd?: string;
  /** The runs root: the bundle is `<outDir>/<runId>/` (default `.flowtape/runs` under cwd). */
  outDir?: string;
  /** The exact bundle directory (wins over outDir). */
  bundleDir?: string;
  /** Another observer, e.g. progress output; it sees every event after the recorder. */
  observer?: LifecycleObserver;
  /** The flow file, recorded in flow.json so `flowtape resume` can load it again. */
  flowFile?: string;
  /** Writer options (redaction, shared mode, inline limit, warnings). */
  recorder?: Omit<RecorderOptions, 'deterministic' | 'flowFile' | 'resume' | 'madeFolder'>;
  /**
   * Stream spans to an OpenTelemetry collector while the run goes (`{}`: the OTEL_EXPORTER_OTLP_* variables say
   * where). Never fails the run: an unreachable collector is a warning in the bundle.
   */
  otlp?: LiveOtlpOptions;
}

export interface RecordResult extends RunResult {
  bundleDir: string;
  /** Non-fatal writer notes (e.g. an outcome the runtime sent twice). */
  warnings: string[];
  /** Tokens and cost the agents reported, folded over the whole run (absent when none reported any). */
  usage?: UsageTotals;
}

export class RecordError extends Error {
  override name = 'RecordError';
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'flow';
}

/** `20260101T000000Z-my-flow-x1y2z3`; without the random suffix in deterministic mode. */
export function makeRunId(flowName: string, now: number, deterministic: boolean): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = deterministic ? '' : `-${Math.random().toString(36).slice(2, 8)}`;
  return `${stamp}-${slug(flowName)}${suffix}`;
}

function fanOut(first: LifecycleObserver, second: LifecycleObserver | undefined): LifecycleObserver {
  if (!second) return first;
  return {
    onEvent(event: LifecycleEvent, at: number) {
      first.onEvent(event, at);
      try {
        second.onEvent(event, at);
      } catch {
        // An extra observer (progress printing) must never break recording.
      }
    },
  };
}

/** An AbortController that also aborts (with the same reason) when `parent` does. */
function linkedAbort(parent: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  return controller;
}

/** Where a flow file is recorded: relative to the run cwd when inside it (never absolute when deterministic). */
function flowFileFor(flowFile: string | undefined, cwd: string, deterministic: boolean): string | undefined {
  if (!flowFile) return undefined;
  const absolute = resolve(cwd, flowFile);
  const rel = relative(cwd, absolute);
  if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split('\\').join('/');
  return deterministic ? undefined : absolute;
}

/**
 * The writer's literal replacements plus the values of every MCP server's env variables and headers the run may
 * send, known before anything runs, so they are redacted wherever they appear (an agent may log or echo them).
 */
function withMcpSecrets(options: Pick<RecordOptions, 'recorder' | 'mcpServers'>, flow: FlowDefinition): Replacement[] {
  return [...(options.recorder?.replacements ?? []), ...mcpSecrets(allMcpServers(flow, options.mcpServers))];
}

/** The environment the writer redacts from is the agents': this process's plus the run's `agentEnv`. */
function redactionEnv(options: Pick<RecordOptions, 'recorder' | 'agentEnv'>): { env?: Record<string, string | undefined> } {
  if (options.recorder?.env !== undefined || options.agentEnv === undefined) return {};
  return { env: { ...process.env, ...options.agentEnv } };
}

/** Loaded only when asked for: a run without export loads no OpenTelemetry code. */
async function liveOtlp(bundleDir: string, options: LiveOtlpOptions): Promise<TraceObserver> {
  const { createLiveOtlp } = await import('./tools/export/otlp-live.ts');
  return createLiveOtlp(bundleDir, options);
}

/** Runs `flow` and records a bundle. Rejects only for invalid flows/options or a bundle that cannot be written. */
export async function record(flow: FlowDefinition, input: unknown, options: RecordOptions = {}): Promise<RecordResult> {
  // The run id becomes a folder name: an invalid one (`../x`, `a/b`) is refused before any path is joined or made.
  if (options.runId !== undefined) checkRunId(options.runId);
  const deterministic = options.deterministic === true;
  const cwd = resolve(options.cwd ?? process.cwd());
  const clock = options.clock ?? (deterministic ? steppingClock() : undefined);
  const runId = options.runId ?? makeRunId(flow.name, (clock ?? { now: Date.now }).now(), deterministic);
  const bundleDir = resolve(cwd, options.bundleDir ?? join(options.outDir ?? DEFAULT_RUNS_ROOT, runId));
  // A missing folder (the usual case) holds no bundle: one lookup rather than two.
  if (existsSync(bundleDir) && (existsSync(join(bundleDir, BUNDLE_FILES.trace)) || existsSync(join(bundleDir, BUNDLE_FILES.manifest)))) {
    throw new RecordError(`${bundleDir} already holds a bundle: choose another --out or run id`);
  }
  // Refuse an invalid flow, a bad export target and an unwritable place, before anything runs.
  if (!isDefinedFlow(flow)) validateFlow(flow);
  const observers = [...(options.recorder?.traceObservers ?? []), ...(options.otlp ? [await liveOtlp(bundleDir, options.otlp)] : [])];
  // The outermost folder made, if any: the writer fsyncs the new names and need not look into a new bundle folder.
  let madeFolder: string | undefined;
  try {
    madeFolder = mkdirSync(bundleDir, { recursive: true });
  } catch (error) {
    await Promise.all(observers.map((observer) => observer.close().catch(() => [])));
    throw new RecordError(`cannot create the bundle directory ${bundleDir}: ${(error as Error).message.split('\n')[0]}`);
  }
  const flowFile = flowFileFor(options.flowFile, cwd, deterministic);
  const stop = linkedAbort(options.signal);
  const recorder = createRecorder(bundleDir, {
    ...options.recorder,
    ...(options.permissionPolicy ? { permissionPolicy: options.permissionPolicy } : {}),
    replacements: withMcpSecrets(options, flow),
    ...redactionEnv(options),
    deterministic,
    ...(flowFile ? { flowFile } : {}),
    ...(observers.length > 0 ? { traceObservers: observers } : {}),
    ...(madeFolder !== undefined ? { madeFolder } : {}),
    // A bundle that can no longer be written: stop the run rather than let it go on unrecorded.
    onError: (error) => {
      options.recorder?.onError?.(error);
      stop.abort('recorder failed');
    },
  });
  const { outDir: _o, bundleDir: _b, observer, flowFile: _f, recorder: _r, signal: _s, otlp: _x, ...runOptions } = options;
  let result: RunResult;
  try {
    result = await runFlow(flow, input, {
      ...runOptions,
      cwd,
      runId,
      signal: stop.signal,
      ...(clock ? { clock } : {}),
      observer: fanOut(recorder, observer),
    });
  } catch (error) {
    // An invalid flow is refused before any event: nothing was written. Anything later is still recorded.
    await recorder.close({ error: { message: (error as Error).message ?? String(error), code: 'runtime_error' } }).catch(() => {});
    throw error;
  }
  const summary = await recorder.close();
  return { ...result, bundleDir, warnings: summary.warnings, ...(summary.usage ? { usage: summary.usage } : {}) };
}

export interface ResumeRecordOptions extends Omit<RecordOptions, 'outDir' | 'bundleDir' | 'runId' | 'flowFile'> {}

/**
 * Continues a bundle waiting at a checkpoint: rebuilds the resume state from the trace, then appends to the same
 * bundle under its lock (seq continues). A deterministic bundle resumes deterministically (its clock continues).
 *
 * Of several resumes started together exactly one goes ahead: whether the run still waits is decided under the
 * bundle lock, in the same hold that appends `run.resumed`, and only if the trace still ends where this resume
 * read it. Nothing runs before that: every other resume rejects with the "not waiting" ResumeBundleError (the CLI
 * exits 2) having written nothing, and its progress observer saw nothing.
 */
export async function resumeRecorded(
  bundleDir: string,
  flow: FlowDefinition,
  resumeInput: unknown,
  options: ResumeRecordOptions = {},
): Promise<RecordResult> {
  const dir = resolve(bundleDir);
  const waiting = await loadWaitingBundle(dir);
  const deterministic = options.deterministic ?? waiting.deterministic;
  const cwd = resolve(options.cwd ?? waiting.cwd ?? process.cwd());
  const clock = options.clock ?? (deterministic ? steppingClock(waiting.lastAtMs + 1) : undefined);
  const stop = linkedAbort(options.signal);
  let claimed = false;
  // Live export of the resumed part: the run before the checkpoint was exported by the process that ran it.
  const otlp = options.otlp ? [await liveOtlp(dir, { ...options.otlp, exportedThroughSeq: waiting.lastSeq })] : [];
  const observers = [...(options.recorder?.traceObservers ?? []), ...otlp];
  const recorder = createRecorder(dir, {
    ...options.recorder,
    ...(observers.length > 0 ? { traceObservers: observers } : {}),
    replacements: withMcpSecrets(options, flow),
    ...redactionEnv(options),
    deterministic,
    resume: true,
    resumeAfterSeq: waiting.lastSeq,
    onError: (error) => {
      // A refused run.resumed is the lost race, reported by the claim below; anything else is a failure.
      if (!claimed && error instanceof AppendRefusedError) return;
      options.recorder?.onError?.(error);
      stop.abort('recorder failed');
    },
  });
  const { observer, recorder: _r, signal: _s, otlp: _x, ...runOptions } = options;
  // The caller's observer (progress output) sees the run only once the resume is ours.
  const held: Array<[LifecycleEvent, number]> = [];
  const gated: LifecycleObserver | undefined = observer && {
    onEvent(event, at) {
      if (claimed) observer.onEvent(event, at);
      else held.push([event, at]);
    },
  };
  const claim = async () => {
    try {
      await recorder.flush();
    } catch (error) {
      if (!(error instanceof AppendRefusedError)) throw error;
      if (error.status !== 'waiting') throw notWaitingError(dir, error.status);
      throw new ResumeBundleError(
        `${dir}: the run was resumed by another process since this resume read it (it waits at "${error.waitingAt}" again, seq ${error.lastSeq}, not ${waiting.lastSeq}): resume it again`,
      );
    }
    claimed = true;
    for (const [event, at] of held.splice(0)) {
      try {
        observer?.onEvent(event, at);
      } catch {
        // An extra observer (progress printing) must never break recording.
      }
    }
  };
  let result: RunResult;
  try {
    result = await resumeFlow(flow, waiting.state, resumeInput, {
      ...runOptions,
      // The run goes on answering permissions as it began (manifest `permissionPolicy`) unless told otherwise.
      ...(runOptions.permissionPolicy === undefined && waiting.manifest.permissionPolicy ? { permissionPolicy: waiting.manifest.permissionPolicy } : {}),
      deterministic,
      cwd,
      signal: stop.signal,
      ...(clock ? { clock } : {}),
      observer: fanOut(recorder, gated),
      claim,
    });
  } catch (error) {
    await recorder.close().catch(() => {});
    throw error;
  }
  const summary = await recorder.close();
  return { ...result, bundleDir: dir, warnings: summary.warnings, ...(summary.usage ? { usage: summary.usage } : {}) };
}
