// The read-only model the UI reads: what was loaded from one bundle, plus the timeline of states. A live
// update produces a new BundleModel (the old one stays valid), so React can compare by identity.
import type { FlowSnapshot, Manifest } from '@flowtape/schema';
import type { Timeline } from './timeline.ts';

export interface BundleIssue {
  file: string;
  line?: number;
  message: string;
  /** `error`: something could not be read; `warning`: read, but not as the format says. */
  severity: 'error' | 'warning';
}

export interface SessionInfo {
  sessionId: string;
  /** Directory of the session inside the bundle (`sessions/<id>`). */
  path: string;
}

export interface BundleModel {
  readonly label: string;
  readonly manifest?: Manifest;
  readonly flow?: FlowSnapshot;
  readonly timeline: Timeline;
  readonly issues: readonly BundleIssue[];
  /** Set when nothing more could be read at all (e.g. a newer major version). */
  readonly fatal?: string;
  /** The backend can grow (served from disk); false for dropped folders and zips. */
  readonly live: boolean;
  /** The manifest says the run ended and every file is flushed. */
  readonly complete: boolean;
  /** Still reading the trace: more events will arrive (a large bundle is shown while it streams in). */
  readonly loading: boolean;
  readonly sessions: readonly SessionInfo[];
  /** Indexes (in timeline.events) of `node.started` events: the stops of node-by-node stepping. */
  readonly nodeStarts: readonly number[];
  /** Bumped by each live update, per session id, when new trace events name that session. */
  readonly sessionVersions: ReadonlyMap<string, number>;
  /** Bumped by each live update. */
  readonly version: number;
  /** Trace line numbers that failed full validation (flagged in the events list). */
  readonly invalidLines: ReadonlySet<number>;
}

export function sessionsOf(manifest: Manifest | undefined, timeline: Timeline): SessionInfo[] {
  const out = new Map<string, SessionInfo>();
  for (const s of manifest?.sessions ?? []) out.set(s.sessionId, { sessionId: s.sessionId, path: s.path });
  for (const id of timeline.final.sessions.keys()) {
    if (!out.has(id)) out.set(id, { sessionId: id, path: `sessions/${id}` });
  }
  return [...out.values()];
}

export function nodeStartsOf(timeline: Timeline, from = 0, into: number[] = []): number[] {
  const events = timeline.events;
  for (let i = from; i < events.length; i++) if (events[i]!.type === 'node.started') into.push(i);
  return into;
}
