/**
 * The JSON text of a trace event (its line without the seq), in pieces that repeat from event to event: the envelope
 * of the events of one millisecond, of one attempt and of one type is quoted once, and only the payload is serialized
 * per event. `head + ids + typePart + JSON.stringify(payload) + '}'` is exactly `JSON.stringify(event)` for the events
 * `traceEvent` builds (seq undefined, so left out; keys in the same order). The trace writer encodes the pieces one
 * after the other, so the recorder's hot path never joins them into a string of its own.
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
