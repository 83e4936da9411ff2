/**
 * The turns of one imported acpx session: which attempt each line of `events.ndjson` belongs to, each turn's line
 * range, message range and stop reason, and the agent that answered `initialize` — all read from the session's
 * raw traffic and the ranges acpx wrote into its own trace.
 */
import { ConversationBuilder, type SessionEventLine } from '@flowtape/schema';

type Json = Record<string, unknown>;

export type ImportedLine = SessionEventLine & { oldSeq: number };

export interface ImportedTurn {
  /** First line of the turn (new seq): a respawned agent's handshake belongs to the turn that respawned it. */
  start: number;
  promptSeq: number;
  requestId: unknown;
  messageIndex: number;
  lastSeq: number;
  messagesEnd: number;
  /** The stop reason the agent answered `session/prompt` with, also when the attempt failed or timed out. */
  stopReason: string | null;
}

export interface SessionData {
  id: string;
  handle: string;
  binding: Json;
  /** Converted lines (seq renumbered 1…), attemptIds filled in by {@link assignTurns}. */
  lines: ImportedLine[];
  oldToNew: Map<number, number>;
  /** Attempts that prompted this session, in order. */
  prompts: string[];
  /** acpx's own range of each attempt's turn (`conversation.eventStartSeq/eventEndSeq`, old seqs). */
  ranges: Map<string, { from: number; to: number }>;
  turns: Map<string, ImportedTurn>;
  boundBy?: string;
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

const sameId = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The line answering an outgoing request (same id, no method), looked for after the request and before `before`. */
function answerTo(lines: ImportedLine[], request: ImportedLine, before: number): ImportedLine | undefined {
  const id = asObject(request.message)?.id;
  return lines.find((l) => l.seq > request.seq && l.seq < before && l.direction === 'incoming' && asObject(l.message)?.method === undefined && sameId(asObject(l.message)?.id, id));
}

/**
 * Where a turn without an acpx range starts: at the `initialize` of an agent respawned after the previous turn was
 * answered (acpx respawns the agent for each turn and reattaches with `session/load`), else at its prompt. Lines
 * between the previous answer and the respawn (late updates of the previous turn) stay with the previous turn.
 */
function handshakeStart(lines: ImportedLine[], previous: ImportedLine, prompt: ImportedLine): number {
  const after = answerTo(lines, previous, prompt.seq)?.seq ?? previous.seq;
  const init = lines.find((l) => l.seq > after && l.seq < prompt.seq && l.direction === 'outgoing' && asObject(l.message)?.method === 'initialize');
  return init?.seq ?? prompt.seq;
}

/**
 * Which lines and which `session/prompt` belong to which attempt. An attempt with an acpx range (its
 * `conversation.eventStartSeq/eventEndSeq`, on `acp_response_parsed` or `node_outcome`) owns the lines from the
 * range's start, and its prompt is the one in the range — none when it timed out before the agent was ready.
 * Without a range, attempts take the unclaimed prompts in order and start at the respawned agent's handshake
 * before their prompt. Each attempt's lines run to the line before the next attempt's; lines before the first
 * (the session being created) belong to the first attempt.
 */
export function assignTurns(session: SessionData, warn: (message: string) => void): void {
  const promptLines = session.lines.filter((l) => l.direction === 'outgoing' && asObject(l.message)?.method === 'session/prompt');
  const claimed = new Set<ImportedLine>();
  const starts: Array<{ attemptId: string; start: number; prompt?: ImportedLine; rangeEnd?: number }> = [];
  for (const attemptId of session.prompts) {
    const previous = starts.at(-1);
    // The earliest this attempt can start: after the previous attempt's prompt, or after its promptless range.
    const floor = previous ? (previous.prompt?.seq ?? previous.rangeEnd ?? previous.start) + 1 : 1;
    const range = session.ranges.get(attemptId);
    let prompt: ImportedLine | undefined;
    let start: number | undefined;
    let rangeEnd: number | undefined;
    if (range) {
      rangeEnd = session.lines.findLast((l) => l.oldSeq <= range.to)?.seq;
      prompt = promptLines.find((l) => !claimed.has(l) && l.seq >= floor && l.oldSeq >= range.from && l.oldSeq <= range.to);
      start = session.lines.find((l) => l.oldSeq >= range.from)?.seq;
      if (start === undefined && !prompt) continue;
    } else {
      prompt = promptLines.find((l) => !claimed.has(l) && l.seq >= floor);
      if (!prompt) continue;
      const before = previous?.prompt;
      start = before ? handshakeStart(session.lines, before, prompt) : floor;
    }
    if (prompt) claimed.add(prompt);
    // A range that reaches back into the previous turn, or starts after its own prompt, is not believed.
    const clamped = Math.max(previous ? floor : 1, Math.min(start ?? prompt!.seq, prompt?.seq ?? Infinity));
    starts.push({ attemptId, start: starts.length === 0 ? 1 : clamped, ...(prompt ? { prompt } : {}), ...(rangeEnd !== undefined ? { rangeEnd } : {}) });
  }
  // (An attempt without a request is reported where its prompt is converted.)
  const unmatched = promptLines.length - claimed.size;
  if (unmatched > 0) {
    warn(`sessions/${session.id}: ${promptLines.length} session/prompt requests for ${session.prompts.length} prompted attempts; ${unmatched} tied to no attempt`);
  }
  let turn = -1;
  for (const line of session.lines) {
    while (turn + 1 < starts.length && line.seq >= starts[turn + 1]!.start) turn++;
    const owner = starts[Math.max(turn, 0)];
    if (owner) line.attemptId = owner.attemptId;
  }
  session.boundBy = starts[0]?.attemptId;
  // Message indexes and stop reasons, from the conversation the lines rebuild.
  const builder = new ConversationBuilder();
  for (let k = 0; k < starts.length; k++) {
    const { attemptId, start, prompt } = starts[k]!;
    const end = k + 1 < starts.length ? starts[k + 1]!.start - 1 : session.lines.length;
    let messageIndex = 0;
    for (const line of session.lines) {
      if (line.seq < start || line.seq > end) continue;
      if (line === prompt) messageIndex = builder.messages.length;
      builder.add(line);
    }
    // An attempt that ended before its prompt went out owns its lines (a handshake) but had no turn.
    if (!prompt) continue;
    const answer = answerTo(session.lines, prompt, end + 1);
    const stopReason = asObject(answer?.message)?.result;
    const requestId = asObject(prompt.message)?.id;
    session.turns.set(attemptId, {
      start,
      promptSeq: prompt.seq,
      requestId,
      messageIndex,
      lastSeq: Math.max(end, prompt.seq),
      messagesEnd: builder.messages.length,
      stopReason: typeof asObject(stopReason)?.stopReason === 'string' ? (asObject(stopReason)!.stopReason as string) : null,
    });
  }
}

/**
 * The agent as it named itself: `agentInfo` and `protocolVersion` from the first recorded answer to `initialize`.
 * acpx's binding only has its profile label (`agentName`, e.g. "codex"), which says which command acpx chose, not
 * which agent answered; acpx records no handshake for the first spawn, so a session of one turn may have none.
 */
export function recordedAgent(lines: ImportedLine[]): { agent?: { name: string; version?: string }; protocolVersion?: number } | undefined {
  for (const request of lines) {
    if (request.direction !== 'outgoing' || asObject(request.message)?.method !== 'initialize') continue;
    const result = asObject(asObject(answerTo(lines, request, Infinity)?.message)?.result);
    if (!result) continue;
    const info = asObject(result.agentInfo);
    const name = typeof info?.name === 'string' && info.name ? info.name : undefined;
    const version = typeof info?.version === 'string' && info.version ? info.version : undefined;
    const protocolVersion = Number.isInteger(result.protocolVersion) ? (result.protocolVersion as number) : undefined;
    return {
      ...(name ? { agent: { name, ...(version ? { version } : {}) } } : {}),
      ...(protocolVersion !== undefined ? { protocolVersion } : {}),
    };
  }
  return undefined;
}
