/** manifest.json as a recorder writes it: what the run is, how far the trace goes, who writes it, whether it is complete. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { BUNDLE_FILES, SCHEMA_IDS, sessionFiles, type Manifest, type ProjectionState, type RunStatus } from '@flowtape/schema';

const WRITER_NAME = 'flowtape';
const WRITER_VERSION = readVersion();
/** This process's host name, asked once (a uname per manifest cost more than writing it). */
let writerHost: string | undefined;
/** A run with one of these statuses has ended: its bundle can be complete. */
export const ENDED: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** What the writer knows of the run beyond the folded state (before run.started is folded, or from a resumed manifest). */
export interface ManifestContext {
  runId: string | undefined;
  flowName: string | undefined;
  createdAt: string | undefined;
  lastAt: string;
  deterministic: boolean;
  shared: boolean;
  permissionPolicy: Manifest['permissionPolicy'];
  replayOf: Manifest['replayOf'];
  warnings: readonly string[];
}

/** `final`: the manifest written at close, when this writer is done (an exclusive writer no longer holds the bundle). */
export function buildManifest(state: ProjectionState, complete: boolean, final: boolean, context: ManifestContext): Manifest {
  const sessionIds = new Set<string>(state.sessions.keys());
  return {
    schema: SCHEMA_IDS.bundle,
    runId: state.runId ?? context.runId ?? 'unknown-run',
    flowName: state.flowName ?? context.flowName ?? 'unknown',
    status: state.status,
    complete,
    createdAt: state.startedAt ?? context.createdAt ?? state.updatedAt ?? context.lastAt,
    updatedAt: state.updatedAt ?? context.lastAt,
    ...(state.endedAt ? { endedAt: state.endedAt } : {}),
    lastSeq: state.seq,
    files: {
      flow: BUNDLE_FILES.flow,
      trace: BUNDLE_FILES.trace,
      run: BUNDLE_FILES.run,
      live: BUNDLE_FILES.live,
      steps: BUNDLE_FILES.steps,
    },
    sessions: [...sessionIds].sort().map((sessionId) => ({ sessionId, path: sessionFiles(sessionId).dir })),
    writer: {
      name: WRITER_NAME,
      version: WRITER_VERSION,
      ...(context.deterministic ? {} : { pid: process.pid, hostname: (writerHost ??= hostname()) }),
      ...(context.shared || final ? {} : { exclusive: true }),
    },
    ...(context.permissionPolicy ? { permissionPolicy: context.permissionPolicy } : {}),
    ...(context.replayOf ? { replayOf: context.replayOf } : {}),
    ...(final && context.warnings.length > 0 ? { warnings: [...context.warnings] } : {}),
  };
}
