/**
 * A fast path in front of the zod schemas for trace lines — `verify`, `repair`, the recorder and the viewer check
 * every line of a trace, and zod's generic parse was most of `verify`'s time on a long run.
 *
 * The rule that keeps it safe: the fast check only ever says "valid, and here is exactly what zod would have
 * returned" or "don't know". Whenever a value is not plainly valid — a missing or extra key, a wrong type, a key
 * named `__proto__`, a nesting deeper than it walks, an event type it does not check by hand — it answers "don't
 * know", and the caller runs zod as before, so every error message stays zod's (validate.ts). What it accepts,
 * zod accepts, and it returns the same value: objects rebuilt with the schema's keys in the schema's order (zod
 * drops unknown keys and orders by shape; an unknown key here is a "don't know"), JSON values as they are.
 * Fields with rarely seen, intricate schemas (usage) are handed to their own zod schema.
 * test/fast-check.test.ts compares both on every sample, the malformed corpus and mutations of them.
 */
import type { z } from 'zod';
import { ARTIFACT_PATH_PATTERN, ATTEMPT_ID_PATTERN, IsoTime, NodeType, Outcome, RUN_ID_PATTERN, SESSION_ID_PATTERN, SHA256_PATTERN } from './common.ts';
import { TRACE_EVENT_SCHEMAS, type TraceEventType } from './events.ts';
import { ActionReceipt, StepStatus } from './projections.ts';
import { TurnUsage, UsageTotals } from './usage.ts';

/** "Don't know": the caller asks zod. */
const FAIL: unique symbol = Symbol('fail');
type Check = (value: unknown) => unknown;

/** The pattern zod tests `at` against (its ISO datetime format with an offset). */
const ISO_TIME = (IsoTime._zod.def as { pattern?: RegExp }).pattern!;

const string: Check = (v) => (typeof v === 'string' ? v : FAIL);
const boolean: Check = (v) => (typeof v === 'boolean' ? v : FAIL);
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : FAIL);
const positiveInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? v : FAIL);
const nonNegativeInt: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? v : FAIL);
const nodeId: Check = (v) => (typeof v === 'string' && v.length >= 1 && v.length <= 200 ? v : FAIL);
const matching =
  (pattern: RegExp): Check =>
  (v) =>
    typeof v === 'string' && pattern.test(v) ? v : FAIL;
const oneOf = (values: readonly string[]): Check => {
  const set = new Set(values);
  return (v) => (typeof v === 'string' && set.has(v) ? v : FAIL);
};
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null ? null : check(v);
/** A field handed to its own zod schema (same output as inside the whole event's parse). */
const viaZod =
  (schema: z.ZodType): Check =>
  (v) => {
    const result = schema.safeParse(v);
    return result.success ? result.data : FAIL;
  };

/** Deeper JSON is left to zod (which also reports a nesting too deep for the stack). */
const MAX_JSON_DEPTH = 64;

/** Any JSON value, returned as it is: zod's copy of it has the same keys in the same order. */
const json: Check = (v) => (isJson(v, 0) ? v : FAIL);

function isJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isJson(v[i], depth + 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const key in v) {
        // zod's record never copies a `__proto__` key: ask zod.
        if (key === '__proto__' || !Object.hasOwn(v, key) || !isJson((v as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

type Field = readonly [key: string, check: Check, optional?: 'optional'];

/**
 * True only while isPlainlyValidStepJson runs: a key whose value is undefined counts as absent, as in the value's
 * JSON text (anywhere else such a key is a "don't know": JSON.parse never makes one, and zod keeps it).
 */
let undefinedIsAbsent = false;

/** A zod object (unknown keys stripped there): here a new object with the fields in order, or FAIL on any other key. */
function object(fields: readonly Field[]): Check {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return FAIL;
    const input = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let present = 0;
    for (const [key, check, optional] of fields) {
      const value = input[key];
      if (value === undefined) {
        if (optional === undefined || (key in input && !undefinedIsAbsent)) return FAIL;
        continue;
      }
      const checked = check(value);
      if (checked === FAIL) return FAIL;
      out[key] = checked;
      present++;
    }
    let keys = 0;
    for (const key in input) if (!undefinedIsAbsent || input[key] !== undefined) keys++;
    return keys === present ? out : FAIL;
  };
}

const ErrorInfo = object([
  ['message', string],
  ['code', string, 'optional'],
  ['name', string, 'optional'],
  ['stack', string, 'optional'],
]);
const ArtifactRef = object([
  ['path', matching(ARTIFACT_PATH_PATTERN)],
  ['sha256', matching(SHA256_PATTERN)],
  ['size', nonNegativeInt],
  ['mediaType', (v) => (typeof v === 'string' && v.length >= 1 ? v : FAIL)],
]);
const inlineRef = object([['inline', json]]);
const artifactRef = object([
  ['artifact', ArtifactRef],
  ['preview', (v) => (typeof v === 'string' && v.length <= 4096 ? v : FAIL), 'optional'],
]);
/** zod's union takes the first option that fits: `{ inline }` first. */
const ValueRef: Check = (v) => {
  const inline = inlineRef(v);
  return inline !== FAIL ? inline : artifactRef(v);
};
const SeqRange = object([
  ['from', nonNegativeInt],
  ['to', nonNegativeInt],
]);
const isoTime = matching(ISO_TIME);
const attemptId = matching(ATTEMPT_ID_PATTERN);
const sessionId = matching(SESSION_ID_PATTERN);
const arrayOf =
  (check: Check): Check =>
  (v) => {
    if (!Array.isArray(v)) return FAIL;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) if ((out[i] = check(v[i])) === FAIL) return FAIL;
    return out;
  };
const Branch = object([
  ['on', string],
  ['value', json],
  ['caseKey', string, 'optional'],
  ['isDefault', boolean, 'optional'],
]);

const PAYLOADS: Partial<Record<TraceEventType, Check>> = {
  'run.started': object([
    ['flowName', string],
    ['input', ValueRef, 'optional'],
    ['runTimeoutMs', positiveInt, 'optional'],
    ['cwd', string, 'optional'],
    ['deterministic', boolean, 'optional'],
  ]),
  'run.completed': object([
    ['output', ValueRef, 'optional'],
    ['durationMs', nonNegative],
  ]),
  'node.started': object([
    ['nodeType', oneOf(NodeType.options)],
    ['attempt', positiveInt],
    ['input', ValueRef, 'optional'],
  ]),
  'node.heartbeat': object([['elapsedMs', nonNegative]]),
  'node.outcome': object([
    ['outcome', oneOf(Outcome.options)],
    ['durationMs', nonNegative],
    ['output', ValueRef, 'optional'],
    ['error', ErrorInfo, 'optional'],
  ]),
  'edge.taken': object([
    ['from', nodeId],
    ['to', nodeId],
    ['branch', Branch, 'optional'],
  ]),
  'acp.prompt_sent': object([
    ['prompt', ValueRef],
    ['messageIndex', nonNegativeInt],
    ['sessionEventSeq', positiveInt],
  ]),
  'acp.turn_finished': object([
    ['stopReason', nullable(string)],
    ['sessionEvents', SeqRange],
    ['messages', SeqRange, 'optional'],
    ['response', ValueRef, 'optional'],
    ['error', ErrorInfo, 'optional'],
    ['usage', viaZod(TurnUsage), 'optional'],
  ]),
};

/** Every known type: its scope, and its payload's check (by hand above, or its zod schema). */
const EVENTS = new Map<string, { scope: string; payload: Check }>(
  TRACE_EVENT_SCHEMAS.map((schema) => {
    const type = schema.shape.type.value;
    return [type, { scope: schema.shape.scope.value, payload: PAYLOADS[type] ?? viaZod(schema.shape.payload) }];
  }),
);

/** The envelope's fields before `scope`, in the schema's order (events.ts). */
const ENVELOPE: readonly Field[] = [
  ['seq', positiveInt],
  ['at', isoTime],
  ['runId', matching(RUN_ID_PATTERN)],
  ['nodeId', nodeId, 'optional'],
  ['attemptId', attemptId, 'optional'],
  ['sessionId', sessionId, 'optional'],
];

/** zod's `z.record(z.string(), z.unknown())`: a plain object, copied key by key. */
function record(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return FAIL;
  const out: Record<string, unknown> = {};
  for (const key in v) {
    if (key === '__proto__' || !Object.hasOwn(v, key)) return FAIL;
    out[key] = (v as Record<string, unknown>)[key];
  }
  return out;
}

/**
 * What zod would return for a trace line — `TraceEvent` for a known type (`full`), `TraceEnvelope` otherwise — when
 * the line is plainly valid; undefined when the caller must ask zod (an invalid line, or one this does not check).
 */
export function fastTraceEvent(value: unknown, depth: 'full' | 'envelope'): { event: object; known: boolean } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let present = 0;
  for (const [key, check, optional] of ENVELOPE) {
    const field = input[key];
    if (field === undefined) {
      if (optional === undefined || key in input) return undefined;
      continue;
    }
    if (check(field) === FAIL) return undefined;
    out[key] = field;
    present++;
  }
  const { scope, type } = input;
  if (typeof scope !== 'string' || typeof type !== 'string' || type === '') return undefined;
  const known = EVENTS.get(type);
  let payload: unknown;
  if (known === undefined || depth === 'envelope') {
    payload = record(input.payload);
  } else {
    if (scope !== known.scope || input.payload === undefined) return undefined;
    payload = known.payload(input.payload);
  }
  if (payload === FAIL) return undefined;
  out.scope = scope;
  out.type = type;
  out.payload = payload;
  let keys = 0;
  for (const _ in input) keys++;
  return keys === present + 3 ? { event: out, known: known !== undefined } : undefined;
}

const Turn = object([
  ['promptSeq', positiveInt],
  ['sessionEventSeq', positiveInt],
  ['messageIndex', nonNegativeInt],
  ['stopReason', nullable(string), 'optional'],
  ['sessionEvents', SeqRange, 'optional'],
  ['messages', SeqRange, 'optional'],
  ['response', ValueRef, 'optional'],
  ['error', ErrorInfo, 'optional'],
  ['usage', viaZod(TurnUsage), 'optional'],
]);
const Step = object([
  ['attemptId', attemptId],
  ['nodeId', nodeId],
  ['attempt', positiveInt],
  ['nodeType', oneOf(NodeType.options)],
  ['status', oneOf(StepStatus.options)],
  ['startedAt', isoTime],
  ['startSeq', positiveInt],
  ['endedAt', isoTime, 'optional'],
  ['endSeq', positiveInt, 'optional'],
  ['durationMs', nonNegative, 'optional'],
  ['heartbeats', nonNegativeInt],
  ['lastHeartbeatAt', isoTime, 'optional'],
  ['input', ValueRef, 'optional'],
  ['output', ValueRef, 'optional'],
  ['error', ErrorInfo, 'optional'],
  ['sessionId', sessionId, 'optional'],
  ['turns', arrayOf(Turn)],
  ['usage', viaZod(UsageTotals), 'optional'],
  ['action', viaZod(ActionReceipt), 'optional'],
  [
    'artifacts',
    arrayOf(
      object([
        ['role', string],
        ['artifact', ArtifactRef],
      ]),
    ),
  ],
  [
    'next',
    object([
      ['to', nodeId],
      ['branch', Branch, 'optional'],
    ]),
    'optional',
  ],
]);

/**
 * Whether `Step.safeParse(value)` (projections.ts) succeeds, when that is plain to see; false means "ask zod" (it may
 * still be valid). For `verify`, which checks every element of steps.json.
 */
export function isPlainlyValidStep(value: unknown): boolean {
  return Step(value) !== FAIL;
}

/**
 * Whether the JSON text of `value` (JSON.stringify's) is plainly a valid step, without making or parsing the text:
 * as isPlainlyValidStep, with keys whose value is undefined taken as absent. For `verify`, which holds the reducer's
 * step (whose optional keys may be set to undefined) and knows steps.json to hold that step's text.
 */
export function isPlainlyValidStepJson(value: unknown): boolean {
  undefinedIsAbsent = true;
  try {
    return Step(value) !== FAIL;
  } finally {
    undefinedIsAbsent = false;
  }
}
