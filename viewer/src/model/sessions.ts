// Session files (binding, conversation record, raw ACP events) and artifacts, read on demand through the
// backend. The conversation comes from record.json; when it is missing, invalid or behind events.ndjson (a
// live run), it is rebuilt from the raw events with the schema's own builder.
import {
  buildConversation,
  type ArtifactRef,
  type ConversationEntry,
  type SessionBinding,
  type SessionEventLine,
} from '@flowtape/schema';
import type { BundleBackend } from '../backend/types.ts';
import type { BundleIssue, SessionInfo } from './bundle-model.ts';
import { schemaBackend, yieldToBrowser } from './loader.ts';
import { loadSchemas } from './lazy-schemas.ts';

const decoder = new TextDecoder();
/** How long a session's events are read before the browser gets a turn. */
const SLICE_MS = 8;

export interface SessionEventRow {
  line: number;
  event: SessionEventLine;
}

export interface SessionData {
  sessionId: string;
  binding?: SessionBinding;
  messages: ConversationEntry[];
  /** Where the conversation came from. */
  source: 'record' | 'events' | 'none';
  events: SessionEventRow[];
  issues: BundleIssue[];
}

async function readDoc<T>(backend: BundleBackend, path: string, parse: (v: unknown) => T, issues: BundleIssue[]): Promise<T | undefined> {
  try {
    const bytes = await backend.read(path);
    if (!bytes) {
      issues.push({ file: path, severity: 'warning', message: `${path}: missing` });
      return undefined;
    }
    return parse(JSON.parse(decoder.decode(bytes)));
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    issues.push({ file: path, severity: 'error', message: message?.startsWith(path) ? message : `${path}: ${message}` });
    return undefined;
  }
}

export async function loadSession(backend: BundleBackend, info: SessionInfo): Promise<SessionData> {
  const issues: BundleIssue[] = [];
  // A session is opened by the user, after the first screen: the schemas are loaded then, not before (lazy-schemas.ts).
  const { SessionBinding, SessionRecord, loadSessionEvents, parseDocument } = await loadSchemas();
  const binding = await readDoc(backend, `${info.path}/binding.json`, (v) => parseDocument(SessionBinding, v, `${info.path}/binding.json`), issues);
  const record = await readDoc(backend, `${info.path}/record.json`, (v) => parseDocument(SessionRecord, v, `${info.path}/record.json`), issues);
  const events: SessionEventRow[] = [];
  const eventsFile = `${info.path}/events.ndjson`;
  try {
    const sb = schemaBackend(backend);
    // loadSessionEvents resolves paths from the session id; read through our path in case the manifest moved it.
    const moved = info.path !== `sessions/${info.sessionId}`;
    const reader = loadSessionEvents(
      moved ? { ...sb, readStream: (p) => sb.readStream(p.replace(`sessions/${info.sessionId}`, info.path)) } : sb,
      info.sessionId,
      (issue) => {
        // A live session's last line may be mid-append; only a finished bundle has torn lines.
        if (issue.problem === 'torn_tail' && backend.live) return;
        issues.push({ file: eventsFile, line: issue.line, severity: issue.problem === 'torn_tail' ? 'warning' : 'error', message: issue.message });
      },
    );
    // A long session has 100k+ lines, each checked against the schema: read in slices of a few milliseconds, so
    // stepping through the run while a session loads is not held up for the whole read.
    let sliceStart = performance.now();
    for await (const item of reader) {
      events.push(item);
      if ((events.length & 255) === 0 && performance.now() - sliceStart > SLICE_MS) {
        await yieldToBrowser();
        sliceStart = performance.now();
      }
    }
  } catch (err) {
    issues.push({ file: eventsFile, severity: 'warning', message: (err as Error).message });
  }
  const lastEventSeq = events.at(-1)?.event.seq ?? 0;
  if (record && record.lastSeq >= lastEventSeq) {
    return { sessionId: info.sessionId, binding, messages: record.messages, source: 'record', events, issues };
  }
  if (events.length > 0) {
    return { sessionId: info.sessionId, binding, messages: buildConversation(events.map((e) => e.event)), source: 'events', events, issues };
  }
  return { sessionId: info.sessionId, binding, messages: record?.messages ?? [], source: record ? 'record' : 'none', events, issues };
}

export interface ArtifactContent {
  bytes: Uint8Array;
  text?: string;
  json?: unknown;
  /** sha256 of the bytes matches the reference. */
  verified: boolean | undefined;
}

async function sha256Hex(bytes: Uint8Array): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function looksTextual(ref: ArtifactRef, bytes: Uint8Array): boolean {
  if (/^(text\/|application\/(json|x-ndjson|xml|javascript))/.test(ref.mediaType) || /\+json$|\+xml$/.test(ref.mediaType)) return true;
  const probe = bytes.subarray(0, 4096);
  return !probe.includes(0);
}

export async function readArtifact(backend: BundleBackend, ref: ArtifactRef): Promise<ArtifactContent | undefined> {
  const bytes = await backend.read(ref.path);
  if (!bytes) return undefined;
  const hash = await sha256Hex(bytes);
  const verified = hash === undefined ? undefined : hash === ref.sha256;
  if (!looksTextual(ref, bytes)) return { bytes, verified };
  const text = decoder.decode(bytes);
  if (ref.mediaType.includes('json') || ref.path.endsWith('.json')) {
    try {
      return { bytes, text, json: JSON.parse(text), verified };
    } catch {
      /* shown as text */
    }
  }
  return { bytes, text, verified };
}
