/**
 * The JSON text of a trace event (its line without the seq), in pieces that repeat from event to event: the envelope
 * of the events of one millisecond, of one attempt and of one type is quoted once, and only the payload is serialized
 * per event. `head + ids + typePart + JSON.stringify(payload) + '}'` is exactly `JSON.stringify(event)` for the events
 * `traceEvent` builds (seq undefined, so left out; keys in the same order). The trace writer encodes the pieces one
 * after the other, so the recorder's hot path never joins them into a string of its own.
 *
 * The payloads of a compute node's three events (node.started, node.outcome, edge.taken) are written here too, from
 * their fields: JSON.stringify of a two-field object cost three times the concatenation, and the output's text is the
 * one the value encoder already made (values.ts), not serialized a second time.
 */

const quote = (text: string): string => JSON.stringify(text);

// The last pieces built: compared by value, so a cache shared by every recorder of the process stays right.
let headAt: string | undefined;
let headRunId: string | undefined;
let head = '';
let idsNodeId: string | undefined;
let idsAttemptId: string | undefined;
let ids = '';
/** `,"scope":"<scope>","type":"<type>","payload":` of each type. */
const typeParts = new Map<string, string>();

/** `,"scope":…,"type":…,"payload":` */
export function eventTypePart(scope: string, type: string): string {
  let part = typeParts.get(type);
  if (part === undefined) typeParts.set(type, (part = `,"scope":${quote(scope)},"type":${quote(type)},"payload":`));
  return part;
}

/** `{"at":…,"runId":…` */
export function eventHead(at: string, runId: string): string {
  if (at !== headAt || runId !== headRunId) {
    head = `{"at":${quote(at)},"runId":${quote(runId)}`;
    headAt = at;
    headRunId = runId;
  }
  return head;
}

/** `,"nodeId":…,"attemptId":…` of an event of a node's attempt. */
export function eventIds(nodeId: string, attemptId: string): string {
  if (nodeId !== idsNodeId || attemptId !== idsAttemptId) {
    ids = `,"nodeId":${quote(nodeId)},"attemptId":${quote(attemptId)}`;
    idsNodeId = nodeId;
    idsAttemptId = attemptId;
  }
  return ids;
}

/** `"<text>"` of the strings that repeat from event to event (node types, outcomes): quoted once each. */
const quotedNames = new Map<string, string>();

function quoteName(text: string): string {
  let quoted = quotedNames.get(text);
  if (quoted === undefined) quotedNames.set(text, (quoted = quote(text)));
  return quoted;
}

/** What JSON.stringify writes for a number that is finite (a non-finite one, or not a number: undefined). */
function finiteJson(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/**
 * `JSON.stringify({ nodeType, attempt })`, or undefined when a field is not of the type the runtime gives (then the
 * caller serializes the payload itself, whatever it holds).
 */
export function startedPayloadJson(nodeType: unknown, attempt: unknown): string | undefined {
  const count = finiteJson(attempt);
  if (typeof nodeType !== 'string' || count === undefined) return undefined;
  return '{"nodeType":' + quoteName(nodeType) + ',"attempt":' + count + '}';
}

/**
 * `JSON.stringify({ outcome, durationMs, output })` where `outputJson` is the output's JSON text ('' for no output),
 * or undefined as startedPayloadJson.
 */
export function outcomePayloadJson(outcome: unknown, durationMs: unknown, outputJson: string): string | undefined {
  const duration = finiteJson(durationMs);
  if (typeof outcome !== 'string' || duration === undefined) return undefined;
  const head = '{"outcome":' + quoteName(outcome) + ',"durationMs":' + duration;
  return outputJson === '' ? head + '}' : head + ',"output":' + outputJson + '}';
}

/** `JSON.stringify({ from, to })`, or undefined as startedPayloadJson. */
export function edgePayloadJson(from: unknown, to: unknown): string | undefined {
  if (typeof from !== 'string' || typeof to !== 'string') return undefined;
  return '{"from":' + quote(from) + ',"to":' + quote(to) + '}';
}
