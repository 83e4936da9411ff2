// The imported bundle on disk: written into a fresh temporary folder next to the output, then renamed into place.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  BUNDLE_FILES,
  ConversationBuilder,
  Manifest,
  SCHEMA_IDS,
  SessionBinding,
  SessionEventLine,
  sessionFiles,
  toLiveProjection,
  toRunProjection,
  toStepsProjection,
  type FlowSnapshot,
  type ProjectionState,
  type TraceEvent,
} from '@flowtape/schema';
import { ArtifactStore } from '../bundle/artifacts.ts';
import { outputProblem } from './fresh-output.ts';
import { recordedAgent, type SessionData } from './import-acpx-turns.ts';
import { ACPX_BUNDLE_SCHEMA, acpxAgentCommand, ENDED, ImportError, isIsolatedSession, str } from './import-acpx-values.ts';

/** What the importer made of an acpx run, ready to write. */
export interface ImportedRun {
  runId: string;
  flow: FlowSnapshot;
  /** The converted trace, and the reducer's state after it. */
  events: readonly TraceEvent[];
  state: ProjectionState;
  sessions: ReadonlyMap<string, SessionData>;
  /** acpx artifact paths, with their size when their content matched their name (only those are copied). */
  artifactCheck: ReadonlyMap<string, { size: number } | undefined>;
  /** The real file of a path of the acpx run (see AcpxImporter.source). */
  source(path: string): Promise<string | undefined>;
  /** The acpx run directory, its form, and the writer version to record. */
  dir: string;
  form: 'nodeType' | 'kind';
  version: string | undefined;
}

/** Refuses an output that is not a missing path or an empty folder (checked first, and again before writing). */
export async function checkImportOutput(output: string): Promise<void> {
  const problem = await outputProblem(output, 'folder');
  if (problem) throw new ImportError(`${output}: ${problem}; choose another -o (a missing path or an empty folder)`);
}

/**
 * Writes the bundle into a fresh temporary folder next to the output, then renames it into place: the rename
 * takes a missing name or an empty folder and fails on anything else, so nothing the user had is ever deleted.
 */
export async function writeImportedBundle(output: string, run: ImportedRun): Promise<number> {
const { runId, flow } = run;
let artifactsCopied = 0;
  await checkImportOutput(output);
  await mkdir(dirname(output), { recursive: true });
  // Created here, exclusively (mkdir fails on an existing name), with the usual folder mode (mkdtemp's is 0700).
  const temp = join(dirname(output), `.${basename(output)}.importing-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    await mkdir(join(temp, 'projections'), { recursive: true });
    await mkdir(join(temp, BUNDLE_FILES.artifactsDir), { recursive: true });
    const doc = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    for (const [path, check] of run.artifactCheck) {
      if (!check) continue;
      await copyFile((await run.source(path))!, join(temp, ...path.split('/')));
      artifactsCopied++;
    }
    const sessionIds = [...run.sessions.keys()].sort();
    const blobs = new ArtifactStore(temp);
    for (const id of sessionIds) {
      const session = run.sessions.get(id)!;
      const files = sessionFiles(id);
      await mkdir(join(temp, files.dir), { recursive: true });
      const lines = session.lines.map(({ oldSeq: _old, ...line }) => SessionEventLine.parse(line));
      await writeFile(join(temp, files.events), lines.map((l) => JSON.stringify(l) + '\n').join(''));
      // Images, audio and embedded blobs of the messages become artifacts, as the recorder stores them.
      const builder = new ConversationBuilder(blobs.storeBlob);
      for (const line of lines) builder.add(line);
      const binding = session.binding;
      const acpSessionId = str(binding.acpSessionId) ?? str(binding.agentSessionId) ?? id;
      const agentCommand = acpxAgentCommand(binding);
      const createdAt = lines[0]?.at ?? run.state.startedAt ?? new Date(0).toISOString();
      const bindingDoc = SessionBinding.parse({
        schema: SCHEMA_IDS.sessionBinding,
        sessionId: id,
        handle: session.handle,
        acpSessionId,
        mode: isIsolatedSession(session) ? 'isolated' : 'shared',
        agentCommand,
        ...(str(binding.cwd) ? { cwd: binding.cwd } : {}),
        ...recordedAgent(session.lines),
        createdAt,
        ...(session.boundBy ? { boundBy: session.boundBy } : {}),
      });
      await writeFile(join(temp, files.binding), doc(bindingDoc));
      await writeFile(
        join(temp, files.record),
        doc({
          schema: SCHEMA_IDS.sessionRecord,
          sessionId: id,
          acpSessionId,
          handle: session.handle,
          lastSeq: builder.lastSeq,
          updatedAt: lines.at(-1)?.at ?? createdAt,
          messages: builder.messages,
        }),
      );
    }
    await writeFile(join(temp, BUNDLE_FILES.flow), doc(flow));
    await writeFile(join(temp, BUNDLE_FILES.trace), run.events.map((e) => JSON.stringify(e) + '\n').join(''));
    const state = run.state;
    await writeFile(join(temp, BUNDLE_FILES.run), doc(toRunProjection(state)));
    await writeFile(join(temp, BUNDLE_FILES.live), doc(toLiveProjection(state)));
    await writeFile(join(temp, BUNDLE_FILES.steps), doc(toStepsProjection(state)));
    const manifest = Manifest.parse({
      schema: SCHEMA_IDS.bundle,
      runId,
      flowName: state.flowName ?? flow.name,
      status: state.status,
      complete: ENDED.has(state.status),
      createdAt: state.startedAt,
      updatedAt: state.updatedAt,
      ...(state.endedAt ? { endedAt: state.endedAt } : {}),
      lastSeq: state.seq,
      files: { flow: BUNDLE_FILES.flow, trace: BUNDLE_FILES.trace, run: BUNDLE_FILES.run, live: BUNDLE_FILES.live, steps: BUNDLE_FILES.steps },
      sessions: sessionIds.map((sessionId) => ({ sessionId, path: sessionFiles(sessionId).dir })),
      writer: { name: 'flowtape import acpx', version: run.version ?? '0.1.0' },
      origin: { format: ACPX_BUNDLE_SCHEMA, tool: run.form === 'kind' ? 'acpx (kind form)' : 'acpx', path: run.dir },
    });
    await writeFile(join(temp, BUNDLE_FILES.manifest), doc(manifest));
    try {
      await rename(temp, output);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw new ImportError(`${output}: appeared while importing and is not an empty folder; choose another -o`);
      }
      throw error;
    }
    return artifactsCopied;
  } catch (error) {
    // Only the temporary folder is removed: it is ours.
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
