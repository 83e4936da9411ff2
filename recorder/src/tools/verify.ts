/**
 * `flowtape verify`: checks a bundle against the v1 format. Every file against its schema; trace seq contiguity
 * and integrity (torn or bad lines); artifact hashes and sizes; projections equal to the reducer fold of the trace
 * at their seq (compared as JSON text); session files (contiguous events, a record equal to the conversation
 * rebuilt from the events, binding); cross references (prompt and turn ranges, sessions, artifacts); manifest paths
 * that stay inside the bundle. The trace and session events are streamed: memory does not grow with their length.
 */
import { BUNDLE_FILES, sessionFiles, type Manifest } from '@flowtape/schema';
import { noteLeftovers, verifyArtifacts, verifyLinks } from './verify-artifacts.ts';
import { VerifyContext, VerifyInputError, type VerifyState } from './verify-context.ts';
import { readProjections, verifyFlow, verifyManifest, type Projections } from './verify-documents.ts';
import { noteUnlistedSessions, verifySession, type ArtifactUse, type SessionFacts } from './verify-sessions.ts';
import { StepsRecheck, validateRest } from './verify-steps-items.ts';
import { compareProjections, verifyTrace } from './verify-trace.ts';

export { VerifyContext, VerifyInputError, type VerifyState };
export { collectArtifacts } from './verify-artifacts.ts';

export interface VerifyProblem {
  /** Bundle-relative file at fault. */
  file: string;
  line?: number;
  pointer?: string;
  /** One line naming the file (and line or JSON pointer). */
  message: string;
}

export interface VerifyReport {
  bundle: string;
  ok: boolean;
  /** `live`: not complete and its writer is running (snapshots may lag the trace); `incomplete`: not complete and no
   *  writer known to run (waiting, crashed); `complete`: every file final. See {@link VerifyState}. */
  state: VerifyState;
  problems: VerifyProblem[];
  /** Problems not shown because there were too many. */
  moreProblems: number;
  /** Facts that do not make the bundle invalid (an unfinished run, an unknown event type, leftovers). */
  notes: string[];
  summary: {
    runId?: string;
    flowName?: string;
    status?: string;
    complete?: boolean;
    events: number;
    lastSeq: number;
    sessions: number;
    artifacts: number;
  };
}

export interface VerifyOptions {
  /** Stop listing problems after this many (default 200); the count of the rest is reported. */
  maxProblems?: number;
  /** Called every few thousand trace events with how many were checked so far (for progress on long bundles). */
  onProgress?: (events: number) => void;
}

export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  // Progress never goes back when a second try starts over.
  let shown = 0;
  const onProgress = options.onProgress && ((events: number) => events > shown && options.onProgress!((shown = events)));
  try {
    return await verifyOnce(new VerifyContext(dir, options.maxProblems ?? 200, onProgress));
  } catch (error) {
    // steps.json is not plainly valid: the full validation first says what is wrong (verify-steps-items.ts).
    if (!(error instanceof StepsRecheck)) throw error;
    return verifyOnce(new VerifyContext(dir, options.maxProblems ?? 200, onProgress, true));
  }
}

/** One try of verifyBundle; with `v.validateStepsFirst` it is the second (tests compare the two). */
export async function verifyOnce(v: VerifyContext): Promise<VerifyReport> {
  await v.checkInput();
  const manifest = await verifyManifest(v);
  const files = manifest?.files ?? {
    flow: BUNDLE_FILES.flow,
    trace: BUNDLE_FILES.trace,
    run: BUNDLE_FILES.run,
    live: BUNDLE_FILES.live,
    steps: BUNDLE_FILES.steps,
  };
  for (const [key, path] of Object.entries(files)) await v.checkInside(path, `/files/${key}`);
  await verifyFlow(v, files.flow);
  const projections = await readProjections(v, files);
  try {
    return await verifyRest(v, manifest, files, projections);
  } finally {
    // A steps.json the fold did not read to its end (an error, a second try): its file is closed now, not at GC.
    await projections.steps?.items?.close();
  }
}

async function verifyRest(v: VerifyContext, manifest: Manifest | undefined, files: Manifest['files'], projections: Projections): Promise<VerifyReport> {
  const sessionIds = manifest?.sessions.map((s) => s.sessionId) ?? [];
  for (const [i, s] of (manifest?.sessions ?? []).entries()) {
    await v.checkInside(s.path, `/sessions/${i}/path`);
    if (s.path !== sessionFiles(s.sessionId).dir) {
      v.add(BUNDLE_FILES.manifest, `/sessions/${i}/path: "${s.path}" is not "${sessionFiles(s.sessionId).dir}"`, undefined, `/sessions/${i}/path`);
    }
  }
  const sessions = new Map<string, SessionFacts>();
  const artifactUses = new Map<string, ArtifactUse>();
  for (const id of sessionIds) sessions.set(id, await verifySession(v, id, artifactUses));
  await noteUnlistedSessions(v, new Set(sessionIds));
  v.summary.sessions = sessionIds.length;
  const fold = await verifyTrace(v, files.trace, manifest, projections, sessions, artifactUses);
  // Elements the fold did not take (no trace to fold) are validated all the same.
  if (projections.steps?.items) await validateRest(projections.steps.items);
  compareProjections(v, files.trace, projections, fold);
  await verifyArtifacts(v, artifactUses);
  verifyLinks(v);
  await noteLeftovers(v);
  return {
    bundle: v.dir,
    ok: v.problems.length === 0 && v.moreProblems === 0,
    state: v.state,
    problems: v.problems,
    moreProblems: v.moreProblems,
    notes: v.notes,
    summary: v.summary,
  };
}
