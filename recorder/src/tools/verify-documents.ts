/** `flowtape verify`: the JSON documents — manifest.json, flow.json and the three projection files' headers. */
import {
  BUNDLE_FILES,
  FlowSnapshot,
  LiveProjection,
  Manifest,
  RunProjection,
  StepsProjection,
  isSwitchEdge,
} from '@flowtape/schema';
import { escapePointer } from './json-pointer.ts';
import { isRegularFile, type VerifyContext } from './verify-context.ts';
import { validateStepsDocument } from './verify-steps.ts';
import { readStepsHeader, type StepsItems } from './verify-steps-items.ts';
import { writerAlive } from './writer-alive.ts';

export const ENDED = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

export interface Projection {
  path: string;
  raw: unknown;
  seq: number;
  /** A streamed steps.json: the file, and the header's runId (the steps are compared during the fold). */
  file?: string;
  runId?: string;
  /** A streamed steps.json whose elements are not validated yet: its items from the first step on. */
  items?: StepsItems;
}

export interface Projections {
  run?: Projection;
  live?: Projection;
  steps?: Projection;
}

export async function verifyManifest(v: VerifyContext): Promise<Manifest | undefined> {
  const raw = await v.readJson(BUNDLE_FILES.manifest);
  const manifest = v.parse<Manifest>(Manifest, raw, BUNDLE_FILES.manifest);
  if (!manifest) return undefined;
  Object.assign(v.summary, {
    runId: manifest.runId,
    flowName: manifest.flowName,
    status: manifest.status,
    complete: manifest.complete,
  });
  if (manifest.complete && !ENDED.has(manifest.status)) {
    v.add(BUNDLE_FILES.manifest, `/complete: true while the status is "${manifest.status}"`, undefined, '/complete');
  }
  if (!manifest.complete) {
    const writer = writerAlive(manifest);
    v.state = writer.known && writer.alive ? 'live' : 'incomplete';
    v.notes.push(
      v.state === 'live'
        ? `the run is live: ${writer.reason}; projections and session records may lag the trace until it ends`
        : manifest.status === 'waiting'
          ? 'the run is waiting at a checkpoint (resume it to finish)'
          : writer.known
            ? `the bundle is not complete (status "${manifest.status}"): ${writer.reason}; \`flowtape repair\` ends the run as abandoned`
            : `the bundle is not complete (status "${manifest.status}"): the run is still going or its writer stopped`,
    );
  }
  return manifest;
}

export async function verifyFlow(v: VerifyContext, path: string): Promise<void> {
  const flow = v.parse<FlowSnapshot>(FlowSnapshot, await v.readJson(path), path);
  if (!flow) return;
  const ids = new Set<string>();
  flow.nodes.forEach((node, i) => {
    if (ids.has(node.id)) v.add(path, `/nodes/${i}/id: duplicate node id "${node.id}"`, undefined, `/nodes/${i}/id`);
    ids.add(node.id);
  });
  if (!ids.has(flow.startAt)) v.add(path, `/startAt: "${flow.startAt}" is not a node`, undefined, '/startAt');
  flow.edges.forEach((edge, i) => {
    const targets: Array<[string, string]> = [[`/edges/${i}/from`, edge.from]];
    if (isSwitchEdge(edge)) {
      for (const [key, to] of Object.entries(edge.switch.cases)) targets.push([`/edges/${i}/switch/cases/${escapePointer(key)}`, to]);
      if (edge.switch.default !== undefined) targets.push([`/edges/${i}/switch/default`, edge.switch.default]);
    } else {
      targets.push([`/edges/${i}/to`, edge.to]);
    }
    for (const [pointer, id] of targets) if (!ids.has(id)) v.add(path, `${pointer}: "${id}" is not a node`, undefined, pointer);
  });
}

export async function readProjections(v: VerifyContext, files: Manifest['files']): Promise<Projections> {
  const out: Projections = {};
  const entries = [
    ['run', files.run, RunProjection],
    ['live', files.live, LiveProjection],
    ['steps', files.steps, StepsProjection],
  ] as const;
  for (const [key, path, schema] of entries) {
    if (await v.snapshotNotYet(path)) continue;
    if (key === 'steps') {
      // Streamed (see verify-steps.ts): its size grows with the run; read whole only to report a broken file.
      const file = await v.resolve(path);
      const regular = file !== undefined && (await isRegularFile(file));
      // Its elements validated while they are compared (verify-steps-items.ts), unless this is the second try.
      const header = regular && !v.validateStepsFirst ? await readStepsHeader(file) : undefined;
      if (header) {
        out.steps = { path, raw: undefined, seq: header.seq, runId: header.runId, file, items: header.items };
        continue;
      }
      const streamed = regular ? await validateStepsDocument(file, path) : undefined;
      if (streamed?.ok === true) {
        out.steps = { path, raw: undefined, seq: streamed.seq, runId: streamed.runId, file };
        continue;
      }
      if (streamed && streamed.ok === false) {
        v.add(path, streamed.message, undefined, streamed.pointer);
        continue;
      }
    }
    const raw = await v.readJson(path);
    const parsed = v.parse<{ seq: number }>(schema, raw, path);
    if (parsed) out[key] = { path, raw, seq: parsed.seq };
  }
  return out;
}
