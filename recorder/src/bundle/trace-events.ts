/**
 * A trace event before its seq, and how it is queued: the one literal shape of each envelope, and its JSON text in
 * the cached pieces of event-json.ts. Separate from the translation table (lifecycle-events.ts) because every event
 * of the run goes through here, whatever its type: this is the recorder's hot path, kept small and on its own.
 */
import type { ArtifactRef } from '@flowtape/schema';
import { eventHead, eventIds, eventTypePart } from './event-json.ts';
import type { TraceWriter, UnsequencedEvent } from './trace-writer.ts';

/** The scope of each event type (the part of its type before the dot), looked up rather than sliced per event. */
const SCOPES = new Map<string, string>();

function scopeOf(type: string): string {
  let scope = SCOPES.get(type);
  if (scope === undefined) SCOPES.set(type, (scope = type.slice(0, type.indexOf('.'))));
  return scope;
}

/**
 * A trace event before its seq, properties in the order of the line (seq, at, runId, nodeId, attemptId, sessionId,
 * scope, type, payload). Built as one literal: `seq` is held undefined (JSON.stringify leaves it out) so numbering it
 * later stores into the object in place; absent scope fields are left out, never undefined.
 */
export function traceEvent(
  at: string,
  runId: string,
  envelope: { nodeId?: string; attemptId?: string; sessionId?: string },
  type: UnsequencedEvent['type'],
  payload: object,
): UnsequencedEvent {
  const { nodeId, attemptId, sessionId } = envelope;
  const scope = scopeOf(type);
  let event: Record<string, unknown>;
  if (!sessionId && nodeId && attemptId) event = { seq: undefined, at, runId, nodeId, attemptId, scope, type, payload };
  else if (!sessionId && !nodeId && !attemptId) event = { seq: undefined, at, runId, scope, type, payload };
  else {
    event = { seq: undefined, at, runId };
    if (nodeId) event.nodeId = nodeId;
    if (attemptId) event.attemptId = attemptId;
    if (sessionId) event.sessionId = sessionId;
    event.scope = scope;
    event.type = type;
    event.payload = payload;
  }
  return event as UnsequencedEvent;
}

/**
 * Queues an event `traceEvent` built. Its text is given in the pieces of event-json.ts (only the payload serialized
 * here, unless its text is given: exactly `JSON.stringify(payload)`) for the common shapes (an event of the run, or of a node's attempt); the rarer ones (an event of a session)
 * the writer serializes itself.
 */
export function appendTraceEvent(
  trace: Pick<TraceWriter, 'append' | 'appendInParts'>,
  event: UnsequencedEvent,
  afterSeq?: number,
  payloadJson?: string,
): void {
  const { at, runId, nodeId, attemptId, sessionId, scope, type, payload } = event as UnsequencedEvent & { nodeId?: string; attemptId?: string; sessionId?: string };
  if (sessionId === undefined && nodeId !== undefined && attemptId !== undefined) {
    trace.appendInParts(event, eventHead(at, runId), eventIds(nodeId, attemptId), eventTypePart(scope, type), payloadJson ?? JSON.stringify(payload), afterSeq);
  } else if (sessionId === undefined && nodeId === undefined && attemptId === undefined) {
    trace.appendInParts(event, eventHead(at, runId), '', eventTypePart(scope, type), payloadJson ?? JSON.stringify(payload), afterSeq);
  } else trace.append(event, afterSeq === undefined ? undefined : { afterSeq });
}

/** `artifact.written` for an artifact a value of the event went to, in the event's node and attempt. */
export function artifactEvent(
  at: string,
  runId: string,
  envelope: { nodeId?: string; attemptId?: string },
  { artifact, role }: { artifact: ArtifactRef; role: string },
): UnsequencedEvent {
  return traceEvent(at, runId, { ...(envelope.nodeId ? { nodeId: envelope.nodeId } : {}), ...(envelope.attemptId ? { attemptId: envelope.attemptId } : {}) }, 'artifact.written', { artifact, role });
}
