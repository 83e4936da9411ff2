/**
 * `flowtape import acpx <run-dir>`: converts a bundle written by acpx (`acpx.flow-run-bundle.v1`, the `nodeType`
 * form of every published acpx and the older `kind` form) into a flowtape v1 bundle that passes `verify`.
 *
 * What acpx does not record is derived, and marked as such where it matters:
 *  - edges: acpx writes no edge event; `edge.taken` is recomputed from flow.json and the node's output or result,
 *    and only written when the next attempt in the trace is the edge's target;
 *  - stop reasons: read from the `session/prompt` response in the session's events, also for a turn that timed out
 *    (acpx cancels it; the agent answers `cancelled`);
 *  - turn ranges: acpx's own (`conversation` on `acp_response_parsed` and `node_outcome`), so a respawned agent's
 *    `initialize`/`session/load` stays with the turn that respawned it (import-acpx-turns.ts);
 *  - the binding's agent: the `agentInfo` of the recorded `initialize` answer (acpx's binding has only its
 *    profile label, e.g. "codex");
 *  - function actions: `action.started`/`action.completed` around the attempt (acpx records only the outcome);
 *  - a failed shell command (no `action_completed` in acpx): an `action.completed` with `ok: false`;
 *  - an interrupted run (acpx: `run_failed` "Interrupted", no outcome for the running attempt): the attempt ends
 *    `cancelled` and the run `run.cancelled`; a checkpoint that left the run waiting: `run.waiting`;
 *  - a node timeout that failed the run (acpx status `timed_out`): `run.failed` with code `node_timed_out`
 *    (flowtape's `timed_out` run status is for the run timeout).
 * Sessions keep their raw traffic (directions renamed, lines tied to the attempt of their turn); record.json is
 * rebuilt from it. Artifacts are copied when their content matches their name.
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { AcpxArtifacts } from './import-acpx-artifacts.ts';
import { convertAcpxFlow } from './import-acpx-flow.ts';
import { loadAcpxSessions } from './import-acpx-sessions.ts';
import { AcpxRunFiles } from './import-acpx-source.ts';
import { AcpxTraceConverter } from './import-acpx-trace.ts';
import { ACPX_BUNDLE_SCHEMA, ACPX_FLOW_SCHEMA, asObject, ImportError, str } from './import-acpx-values.ts';
import { checkImportOutput, writeImportedBundle } from './import-acpx-write.ts';

export { ACPX_BUNDLE_SCHEMA, ImportError } from './import-acpx-values.ts';

export interface ImportOptions {
  /** The flowtape bundle directory to create (default `<run-dir name>.flowtape` in the current directory). */
  output?: string;
  /** Recorded as the writer version. */
  version?: string;
}

export interface ImportReport {
  output: string;
  runId: string;
  status: string;
  /** `nodeType` (acpx 0.4.0 and later) or `kind` (the older form). */
  form: 'nodeType' | 'kind';
  events: number;
  sessions: number;
  artifacts: number;
  /** What could not be carried over exactly (missing artifacts, unknown events, torn lines…). */
  warnings: string[];
}

export function defaultImportName(sourceDir: string): string {
  return `${basename(resolve(sourceDir))}.flowtape`;
}

export async function importAcpx(sourceDir: string, options: ImportOptions = {}): Promise<ImportReport> {
  return new AcpxImporter(resolve(sourceDir), sourceDir, options).run();
}

class AcpxImporter {
  private readonly warnings: string[] = [];
  private readonly files: AcpxRunFiles;
  private readonly artifacts: AcpxArtifacts;

  constructor(
    private readonly dir: string,
    private readonly label: string,
    private readonly options: ImportOptions,
  ) {
    this.files = new AcpxRunFiles(dir, label, (message) => this.warn(message));
    this.artifacts = new AcpxArtifacts(this.files, (message) => this.warn(message));
  }

  private warn(message: string): void {
    if (this.warnings.length < 100) this.warnings.push(message);
  }

  async run(): Promise<ImportReport> {
    try {
      if (!(await stat(this.dir)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new ImportError(`${this.label}: no such acpx run directory`);
    }
    // Refused before any work, and again by the final rename: nothing that exists is ever replaced.
    const output = resolve(this.options.output ?? defaultImportName(this.label));
    await checkImportOutput(output);
    const manifest = await this.files.readJson('manifest.json', true);
    if (manifest.schema !== ACPX_BUNDLE_SCHEMA) {
      throw new ImportError(
        `${join(this.label, 'manifest.json')}: /schema: ${JSON.stringify(manifest.schema ?? null)} is not an acpx run bundle (${ACPX_BUNDLE_SCHEMA})`,
      );
    }
    const paths = asObject(manifest.paths) ?? {};
    const pathOf = (key: string, fallback: string) => str(paths[key]) ?? fallback;
    const flowDoc = await this.files.readJson(pathOf('flow', 'flow.json'), true);
    if (flowDoc.schema !== undefined && flowDoc.schema !== ACPX_FLOW_SCHEMA) {
      this.warn(`${pathOf('flow', 'flow.json')}: /schema: "${String(flowDoc.schema)}" is not ${ACPX_FLOW_SCHEMA}; read anyway`);
    }
    const runProjection = await this.files.readJson(pathOf('runProjection', 'projections/run.json'), false);
    const stepsRaw = await this.files.readStepsProjection(pathOf('stepsProjection', 'projections/steps.json'));
    const tracePath = pathOf('trace', 'trace.ndjson');
    const trace = this.files.parseTrace(await this.files.readNdjson(tracePath), tracePath);
    if (trace.length === 0) throw new ImportError(`${join(this.label, tracePath)}: no events`);
    const runId = str(manifest.runId) ?? trace[0]!.runId ?? 'acpx-run';

    const acpxNodes = asObject(flowDoc.nodes) ?? {};
    const form = Object.values(acpxNodes).some((n) => asObject(n)?.kind !== undefined && asObject(n)?.nodeType === undefined) ? 'kind' : 'nodeType';
    const flow = convertAcpxFlow(flowDoc, manifest, this.label, (message) => this.warn(message));

    await this.artifacts.check(trace);
    const sessions = await loadAcpxSessions(this.files, manifest, trace, (message) => this.warn(message));
    const converter = new AcpxTraceConverter(this.label, sessions, this.artifacts, (message) => this.warn(message), form);
    await converter.convert(trace, runId, flow, stepsRaw, runProjection, manifest);

    const artifacts = await writeImportedBundle(output, {
      runId,
      flow,
      events: converter.events,
      state: converter.state,
      sessions,
      artifactCheck: this.artifacts.checked,
      source: (path) => this.files.source(path),
      dir: this.dir,
      form: converter.form,
      version: this.options.version,
    });
    return {
      output,
      runId,
      status: converter.state.status,
      form: converter.form,
      events: converter.events.length,
      sessions: sessions.size,
      artifacts,
      warnings: this.warnings,
    };
  }
}
