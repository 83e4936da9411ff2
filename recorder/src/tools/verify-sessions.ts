/** `flowtape verify`: each session's files — binding, record, events (streamed), and the conversation rebuilt from them. */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BUNDLE_FILES,
  ConversationBuilder,
  SessionBinding,
  SessionEventLine,
  SessionRecord,
  readNdjson,
  sessionFiles,
  tooDeep,
} from '@flowtape/schema';
import { artifactRef, decodeBase64 } from '../bundle/artifacts.ts';
import { escapePointer, firstDifference } from './json-pointer.ts';
import { isRegularFile, type VerifyContext } from './verify-context.ts';

export interface SessionFacts {
  lastSeq: number;
  /** Seq of every outgoing `session/prompt` line → its attemptId. */
  promptSeqs: Map<number, string | undefined>;
  claimed: Set<number>;
  messageCount: number | undefined;
}

export interface ArtifactUse {
  size: number;
  sha256: string;
  file: string;
  line: number;
}

export async function verifySession(v: VerifyContext, sessionId: string, artifactUses: Map<string, ArtifactUse>): Promise<SessionFacts> {
  const files = sessionFiles(sessionId);
  const facts: SessionFacts = { lastSeq: 0, promptSeqs: new Map(), claimed: new Set(), messageCount: undefined };
  const binding = v.parse<SessionBinding>(SessionBinding, await v.readJson(files.binding), files.binding);
  if (binding && binding.sessionId !== sessionId) {
    v.add(files.binding, `/sessionId: "${binding.sessionId}" is not "${sessionId}"`, undefined, '/sessionId');
  }
  const rawRecord = (await v.snapshotNotYet(files.record)) ? undefined : await v.readJson(files.record);
  const record = v.parse<SessionRecord>(SessionRecord, rawRecord, files.record);
  if (record && record.sessionId !== sessionId) {
    v.add(files.record, `/sessionId: "${record.sessionId}" is not "${sessionId}"`, undefined, '/sessionId');
  }
  if (record) {
    // Images, audio and embedded blobs of the messages: their artifacts must be there, whole.
    for (const entry of record.messages) {
      if (entry.role !== 'agent' && entry.role !== 'user' && entry.role !== 'thought') continue;
      for (const { artifact } of entry.content ?? []) {
        if (artifact && !artifactUses.has(artifact.path)) artifactUses.set(artifact.path, { ...artifact, file: files.record, line: 0 });
      }
    }
  }
  // The rebuilt record names the artifacts the recorder stored (hashed, not written).
  const builder = new ConversationBuilder((base64, mediaType) => artifactRef(decodeBase64(base64), mediaType));
  let atRecord: string | undefined = record && record.lastSeq === 0 ? '[]' : undefined;
  const file = await v.resolve(files.events);
  let read = false;
  if (!file) {
    v.add(files.events, 'missing');
  } else if (!(await isRegularFile(file))) {
    v.add(files.events, 'not a regular file');
  } else {
    read = true;
    let expected = 1;
    for await (const { line, value } of readNdjson(createReadStream(file), {
      file: files.events,
      onIssue: (issue) => (issue.problem === 'torn_tail' ? v.addTorn(files.events, issue.line, issue.message) : v.add(files.events, issue.message, issue.line)),
    })) {
      let parsed: ReturnType<typeof SessionEventLine.safeParse>;
      try {
        parsed = SessionEventLine.safeParse(value);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        v.add(files.events, tooDeep(files.events, line).message, line);
        continue;
      }
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const pointer = issue ? issue.path.map((p) => `/${escapePointer(String(p))}`).join('') : '';
        v.add(files.events, `${pointer || '/'}: ${issue?.message ?? 'invalid'}`, line, pointer);
        continue;
      }
      const event = parsed.data;
      if (event.seq !== expected) v.add(files.events, `seq ${event.seq} where ${expected} was expected`, line);
      expected = event.seq + 1;
      facts.lastSeq = event.seq;
      const message = event.message as { method?: unknown } | undefined;
      if (event.direction === 'outgoing' && message?.method === 'session/prompt') facts.promptSeqs.set(event.seq, event.attemptId);
      builder.add(event);
      if (record && event.seq === record.lastSeq) atRecord = JSON.stringify(builder.messages);
    }
  }
  // The trace's message ranges point into the conversation the events make (what record.json holds once final).
  facts.messageCount = read ? builder.messages.length : record?.messages.length;
  if (record) {
    if (record.lastSeq < facts.lastSeq) v.addLag(files.record, '/lastSeq', record.lastSeq, files.events, facts.lastSeq);
    if (record.lastSeq > facts.lastSeq) {
      v.add(files.record, `/lastSeq: ${record.lastSeq} is past the last event (${facts.lastSeq}) of ${files.events}`, undefined, '/lastSeq');
    } else if (atRecord !== undefined) {
      const recorded = (rawRecord as { messages?: unknown }).messages;
      const rebuilt = JSON.parse(atRecord) as unknown;
      if (JSON.stringify(recorded) !== atRecord) {
        const pointer = `/messages${firstDifference(recorded, rebuilt)}`;
        v.add(files.record, `${pointer}: differs from the conversation rebuilt from ${files.events} up to seq ${record.lastSeq}`, undefined, pointer);
      }
    }
  }
  return facts;
}

export async function noteUnlistedSessions(v: VerifyContext, listed: Set<string>): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(join(v.root, BUNDLE_FILES.sessionsDir));
  } catch {
    return;
  }
  for (const name of names.sort()) {
    if (!listed.has(name)) v.notes.push(`${BUNDLE_FILES.sessionsDir}/${name} is not listed in ${BUNDLE_FILES.manifest} (a session that never got bound)`);
  }
}
