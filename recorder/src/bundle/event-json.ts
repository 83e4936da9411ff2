/**
 * The JSON text of a trace event (its line without the seq), built from pieces that repeat from event to event: the
 * envelope of the events of one millisecond, of one attempt and of one type is quoted once, and only the payload is
 * serialized per event. Identical to `JSON.stringify(event)` for the events `traceEvent` builds (seq undefined, so
 * left out; keys in the same order). Half the allocation of serializing the whole event, on the recorder's hot path.
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

function typePart(scope: string, type: string): string {
  let part = typeParts.get(type);
  if (part === undefined) typeParts.set(type, (part = `,"scope":${quote(scope)},"type":${quote(type)},"payload":`));
  return part;
}

function headOf(at: string, runId: string): string {
  if (at !== headAt || runId !== headRunId) {
    head = `{"at":${quote(at)},"runId":${quote(runId)}`;
    headAt = at;
    headRunId = runId;
  }
  return head;
}

/** The text of an event of a node's attempt (nodeId and attemptId, no sessionId). */
export function attemptEventJson(at: string, runId: string, nodeId: string, attemptId: string, scope: string, type: string, payload: object): string {
  if (nodeId !== idsNodeId || attemptId !== idsAttemptId) {
    ids = `,"nodeId":${quote(nodeId)},"attemptId":${quote(attemptId)}`;
    idsNodeId = nodeId;
    idsAttemptId = attemptId;
  }
  return headOf(at, runId) + ids + typePart(scope, type) + JSON.stringify(payload) + '}';
}

/** The text of an event of the run (no nodeId, attemptId or sessionId). */
export function runEventJson(at: string, runId: string, scope: string, type: string, payload: object): string {
  return headOf(at, runId) + typePart(scope, type) + JSON.stringify(payload) + '}';
}
