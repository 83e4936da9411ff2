// The sessions of an acpx run being imported: the ones its manifest lists and any its trace names, each with its
// raw traffic (directions renamed, seqs renumbered), the attempts that prompted it and the event ranges acpx gave
// each turn; then each turn's place in the traffic (import-acpx-turns.ts).
import type { AcpxRunFiles } from './import-acpx-source.ts';
import { assignTurns, recordedAgent, type SessionData } from './import-acpx-turns.ts';
import { asObject, str, type AcpxEvent, type Json } from './import-acpx-values.ts';

export async function loadAcpxSessions(files: AcpxRunFiles, manifest: Json, trace: AcpxEvent[], warn: (message: string) => void): Promise<Map<string, SessionData>> {
  const sessions = new Map<string, SessionData>();
  const listed = Array.isArray(manifest.sessions) ? manifest.sessions.map(asObject).filter((s) => s !== undefined) : [];
  const ids = new Map<string, Json>();
  for (const entry of listed) {
    const id = str(entry.id) ?? str(entry.sessionId);
    if (id) ids.set(id, entry);
  }
  for (const e of trace) if (e.sessionId && !ids.has(e.sessionId)) ids.set(e.sessionId, {});
  for (const [id, entry] of ids) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(id)) {
      warn(`session "${id}": not a usable directory name; not imported`);
      continue;
    }
    const bindingPath = str(entry.bindingPath) ?? `sessions/${id}/binding.json`;
    const eventsPath = str(entry.eventsPath) ?? `sessions/${id}/events.ndjson`;
    const binding = (await files.readJson(bindingPath, false)) ?? {};
    const raw = await files.readNdjson(eventsPath);
    const session: SessionData = {
      id,
      handle: str(binding.handle) ?? str(entry.handle) ?? 'main',
      binding,
      lines: [],
      oldToNew: new Map(),
      prompts: [],
      ranges: new Map(),
      turns: new Map(),
    };
    for (const { line, value } of raw) {
      const o = asObject(value);
      const direction = o?.direction === 'outbound' || o?.direction === 'outgoing' ? 'outgoing' : o?.direction === 'inbound' || o?.direction === 'incoming' ? 'incoming' : undefined;
      if (!o || !direction || typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) {
        warn(`${eventsPath}:${line}: not an acpx session event; skipped`);
        continue;
      }
      const seq = session.lines.length + 1;
      const oldSeq = typeof o.seq === 'number' ? o.seq : seq;
      session.oldToNew.set(oldSeq, seq);
      session.lines.push({ seq, at: new Date(o.at).toISOString(), direction, message: (o.message ?? null) as never, oldSeq });
    }
    sessions.set(id, session);
  }
  // Which attempt prompted each session, and the event ranges acpx gave each turn.
  for (const e of trace) {
    const conversation = asObject(e.payload.conversation);
    // acpx puts the session id on the event, or only in the payload (`node_outcome`, the one event a timed-out
    // or failed turn gets) and in its conversation range.
    const sessionId = e.sessionId ?? str(e.payload.sessionId) ?? str(conversation?.sessionId);
    const session = sessionId ? sessions.get(sessionId) : undefined;
    if (!session || !e.attemptId) continue;
    if (e.type === 'acp_prompt_prepared') session.prompts.push(e.attemptId);
    if (conversation && typeof conversation.eventStartSeq === 'number' && typeof conversation.eventEndSeq === 'number') {
      session.ranges.set(e.attemptId, { from: conversation.eventStartSeq, to: conversation.eventEndSeq });
    }
  }
  for (const session of sessions.values()) {
    assignTurns(session, (message) => warn(message));
    const label = str(session.binding.agentName);
    if (label && !recordedAgent(session.lines)?.agent) {
      warn(`sessions/${session.id}: no answer to initialize recorded; the binding names no agent (acpx's profile was "${label}")`);
    }
  }
  return sessions;
}
