// manifest.json and flow.json without zod, for the first screen: a structural check says "plainly valid, and here is
// the value zod would return" or "don't know". A plainly valid document is used at once and checked in full by zod
// after the trace is on screen (checkDocumentsLater); anything else is parsed by zod at once, so every message a
// user sees for a bad document is zod's, as before. What is left to the later check: the patterns of ids and
// timestamps (run id, session id, ISO time, sha-256). Paths are checked here: the viewer reads the files they name.
import { SCHEMA_IDS, bundlePathProblem, checkSchemaId, type FlowSnapshot, type Manifest } from '@flowtape/schema';
import type { BundleIssue } from './bundle-model.ts';
import { loadSchemas, type Schemas } from './lazy-schemas.ts';

/** "Don't know": zod decides. */
const FAIL: unique symbol = Symbol('fail');
type Check = (value: unknown) => unknown;
/** An object's fields in the schema's order (zod returns its objects in that order), each with its check. */
type Shape = ReadonlyArray<readonly [key: string, check: Check, required: boolean]>;

const string: Check = (v) => (typeof v === 'string' ? v : FAIL);
const nonEmpty: Check = (v) => (typeof v === 'string' && v.length >= 1 ? v : FAIL);
const nodeId: Check = (v) => (typeof v === 'string' && v.length >= 1 && v.length <= 200 ? v : FAIL);
const boolean: Check = (v) => (typeof v === 'boolean' ? v : FAIL);
const int: Check = (v) => (Number.isSafeInteger(v) ? v : FAIL);
const positiveInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? v : FAIL);
const nonNegativeInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? v : FAIL);
const bundlePath: Check = (v) => (typeof v === 'string' && bundlePathProblem(v) === undefined ? v : FAIL);
const oneOf = (values: readonly string[]): Check => (v) => (typeof v === 'string' && values.includes(v) ? v : FAIL);
const literal = (value: string): Check => (v) => (v === value ? v : FAIL);
const arrayOf = (check: Check): Check => (v) => {
  if (!Array.isArray(v)) return FAIL;
  const out: unknown[] = [];
  for (const item of v) {
    const checked = check(item);
    if (checked === FAIL) return FAIL;
    out.push(checked);
  }
  return out;
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Required and optional fields, rebuilt in the shape's order; an unknown key (zod would drop it) is "don't know". */
const object = (shape: Shape): Check => (v) => {
  if (!isPlainObject(v)) return FAIL;
  const out: Record<string, unknown> = {};
  let seen = 0;
  for (const [key, check, required] of shape) {
    if (!Object.hasOwn(v, key)) {
      if (required) return FAIL;
      continue;
    }
    seen++;
    const checked = check(v[key]);
    if (checked === FAIL) return FAIL;
    out[key] = checked;
  }
  return Object.keys(v).length === seen ? out : FAIL;
};

/** Plain JSON, shallow enough to walk (zod's copy of it has the same keys in the same order). */
function isJson(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (depth >= 64) return false;
  if (Array.isArray(v)) return v.every((item) => isJson(item, depth + 1));
  if (!isPlainObject(v)) return false;
  for (const key of Object.keys(v)) if (key === '__proto__' || !isJson(v[key], depth + 1)) return false;
  return true;
}
const jsonRecord: Check = (v) => (isPlainObject(v) && isJson(v, 0) ? v : FAIL);
const stringRecord = (check: Check): Check => (v) => {
  if (!isPlainObject(v)) return FAIL;
  for (const key of Object.keys(v)) if (key === '__proto__' || check(v[key]) === FAIL) return FAIL;
  return v;
};

const req = (key: string, check: Check) => [key, check, true] as const;
const opt = (key: string, check: Check) => [key, check, false] as const;
const POLICY = ['approve-all', 'approve-reads', 'deny'];

export const FILES_SHAPE: Shape = [req('flow', bundlePath), req('trace', bundlePath), req('run', bundlePath), req('live', bundlePath), req('steps', bundlePath)];
export const SESSION_SHAPE: Shape = [req('sessionId', string), req('path', bundlePath)];
export const WRITER_SHAPE: Shape = [req('name', string), req('version', string), opt('pid', int), opt('hostname', string), opt('exclusive', boolean)];
export const ORIGIN_SHAPE: Shape = [req('format', string), opt('tool', string), opt('path', string)];
export const REPLAY_SHAPE: Shape = [req('runId', string), req('traceSha256', string), opt('from', string)];

/** Field order of manifest.ts's Manifest (viewer/test/documents.test.ts compares every shape here with the zod ones). */
export const MANIFEST_SHAPE: Shape = [
  req('schema', literal(SCHEMA_IDS.bundle)),
  req('runId', string),
  req('flowName', nonEmpty),
  req('status', oneOf(['running', 'waiting', 'completed', 'failed', 'timed_out', 'cancelled'])),
  req('complete', boolean),
  req('createdAt', string),
  req('updatedAt', string),
  opt('endedAt', string),
  req('lastSeq', nonNegativeInt),
  req('files', object(FILES_SHAPE)),
  req('sessions', arrayOf(object(SESSION_SHAPE))),
  req('writer', object(WRITER_SHAPE)),
  opt('abandoned', boolean),
  opt('warnings', arrayOf(string)),
  opt('origin', object(ORIGIN_SHAPE)),
  opt('permissionPolicy', oneOf(POLICY)),
  opt('replayOf', object(REPLAY_SHAPE)),
];

const NODE_BASE: Shape = [req('id', nodeId), opt('title', string), opt('description', string), opt('timeoutMs', positiveInt), opt('heartbeatMs', positiveInt)];
const nodeShape = (nodeType: string, own: Shape): Shape => [...NODE_BASE, req('nodeType', literal(nodeType)), ...own];

/** Field order of each of flow.ts's node specs, by nodeType. */
export const NODE_SHAPES: Readonly<Record<string, Shape>> = {
  acp: nodeShape('acp', [
    opt('sessionHandle', string), req('sessionMode', oneOf(['shared', 'isolated'])), opt('agentCommand', arrayOf(string)),
    opt('permissionPolicy', oneOf(POLICY)), opt('promptSource', string),
  ]),
  compute: nodeShape('compute', [opt('source', string)]),
  action: nodeShape('action', [req('actionType', oneOf(['shell', 'function'])), opt('command', string), opt('source', string)]),
  checkpoint: nodeShape('checkpoint', [opt('message', string)]),
  decision: nodeShape('decision', [opt('choices', arrayOf(string)), opt('source', string)]),
};
const NODE_CHECKS = Object.fromEntries(Object.entries(NODE_SHAPES).map(([type, shape]) => [type, object(shape)]));
const node: Check = (v) => {
  const type = isPlainObject(v) ? v['nodeType'] : undefined;
  const check = typeof type === 'string' && Object.hasOwn(NODE_CHECKS, type) ? NODE_CHECKS[type] : undefined;
  return check ? check(v) : FAIL;
};

export const DIRECT_EDGE_SHAPE: Shape = [req('from', nodeId), req('to', nodeId)];
export const SWITCH_SHAPE: Shape = [req('on', string), req('cases', stringRecord(nodeId)), opt('default', nodeId)];
export const SWITCH_EDGE_SHAPE: Shape = [req('from', nodeId), req('switch', object(SWITCH_SHAPE))];
const directEdge = object(DIRECT_EDGE_SHAPE);
const switchEdge = object(SWITCH_EDGE_SHAPE);
// zod tries the direct edge first and drops unknown keys: an edge with both `to` and `switch` is left to zod.
const edge: Check = (v) => (isPlainObject(v) && Object.hasOwn(v, 'switch') ? switchEdge(v) : directEdge(v));

/** Field order of flow.ts's FlowSnapshot. */
export const FLOW_SHAPE: Shape = [
  req('schema', literal(SCHEMA_IDS.flow)),
  req('name', nonEmpty),
  opt('description', string),
  req('startAt', nodeId),
  opt('runTimeoutMs', positiveInt),
  req('nodes', arrayOf(node)),
  req('edges', arrayOf(edge)),
  opt('metadata', jsonRecord),
  opt('flowFile', string),
];

const manifestCheck = object(MANIFEST_SHAPE);
const flowCheck = object(FLOW_SHAPE);

/** The manifest zod would return, when `value` is plainly one (its ids and times are checked later); else undefined. */
export function plainManifest(value: unknown): Manifest | undefined {
  const checked = manifestCheck(value);
  return checked === FAIL ? undefined : (checked as Manifest);
}

/** The flow snapshot zod would return, when `value` is plainly one (ids of nodes are only checked for length). */
export function plainFlow(value: unknown): FlowSnapshot | undefined {
  const checked = flowCheck(value);
  return checked === FAIL ? undefined : (checked as FlowSnapshot);
}

/** A document used after the structural check alone: zod checks it in full once the trace is on screen. */
export interface DeferredDocument {
  kind: 'manifest' | 'flow';
  file: string;
  value: unknown;
}

/**
 * Reads manifest.json or flow.json: the schema id first (a newer major throws NewerFormatError, as parseDocument
 * does), then the structural check; what it does not vouch for is parsed by zod now (loaded on demand), with zod's
 * message. A document it vouches for is added to `deferred`.
 */
export async function readDocument<K extends DeferredDocument['kind']>(
  kind: K,
  value: unknown,
  file: string,
  deferred?: DeferredDocument[],
): Promise<K extends 'manifest' ? Manifest : FlowSnapshot> {
  type Out = K extends 'manifest' ? Manifest : FlowSnapshot;
  checkSchemaId(value, kind === 'manifest' ? SCHEMA_IDS.bundle : SCHEMA_IDS.flow, file);
  const plain = kind === 'manifest' ? plainManifest(value) : plainFlow(value);
  if (plain) {
    deferred?.push({ kind, file, value });
    return plain as Out;
  }
  const { parseDocument, Manifest, FlowSnapshot } = await loadSchemas();
  return (kind === 'manifest' ? parseDocument(Manifest, value, file) : parseDocument(FlowSnapshot, value, file)) as Out;
}

/** What zod's check of deferred documents needs (the schemas chunk, or the validation worker's own imports). */
export type DocumentSchemas = Pick<Schemas, 'parseDocument' | 'Manifest' | 'FlowSnapshot'>;

/**
 * The full (zod) check of the documents the first screen used after the structural check: one issue per document
 * that is not what the format says, with the message zod's parse gave before (the document stays on screen).
 */
export function documentIssues(schemas: DocumentSchemas, documents: readonly DeferredDocument[]): BundleIssue[] {
  const { parseDocument, Manifest, FlowSnapshot } = schemas;
  const issues: BundleIssue[] = [];
  for (const { kind, file, value } of documents) {
    try {
      if (kind === 'manifest') parseDocument(Manifest, value, file);
      else parseDocument(FlowSnapshot, value, file);
    } catch (err) {
      issues.push({ file, severity: 'error', message: (err as Error).message });
    }
  }
  return issues;
}

/** documentIssues on this thread, the schemas loaded on demand (where no validation worker runs). */
export async function checkDocumentsLater(documents: readonly DeferredDocument[]): Promise<BundleIssue[]> {
  if (documents.length === 0) return [];
  return documentIssues(await loadSchemas(), documents);
}
