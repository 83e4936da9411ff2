/**
 * The sessions of two runs, paired by handle (`handle`, `handle#2`, … in order of binding), one pair at a time:
 * their bindings, then their conversations rebuilt from the raw events, turn by turn (turns.ts).
 */
import { ConversationBuilder } from '../conversation.ts';
import { loadSessionBinding, loadSessionEvents } from '../loader.ts';
import type { ConversationEntry, McpServerBinding } from '../session.ts';
import { BundleFormatError } from '../validate.ts';
import { deepDiff, type DiffCollector, type DiffContext } from './core.ts';
import { pointer } from './normalize.ts';
import type { Side } from './side.ts';
import { alignTurns, splitTurns, turnNote, turnPointer, turnPrompt, type TurnEntry } from './turns.ts';

export async function diffSessions(a: Side, b: Side, out: DiffCollector, warnings: string[]): Promise<void> {
  const byKey = (side: Side) => new Map([...side.acc.sessionKeys].map(([id, key]) => [key, id]));
  const keysA = byKey(a);
  const keysB = byKey(b);
  const keys = [...keysA.keys(), ...[...keysB.keys()].filter((k) => !keysA.has(k))];
  for (const key of keys) {
    const context: DiffContext = { section: 'session', session: key };
    const base = pointer('sessions', key);
    if (out.ignore.matches(base)) continue;
    const idA = keysA.get(key);
    const idB = keysB.get(key);
    if (idA === undefined || idB === undefined) {
      out.add({ ...context, kind: idA === undefined ? 'added' : 'removed', path: base, [idA === undefined ? 'b' : 'a']: key });
      continue;
    }
    const [bindingA, bindingB] = await Promise.all([sessionBinding(a, idA), sessionBinding(b, idB)]);
    deepDiff(bindingA, bindingB, `${base}/binding`, context, out);
    const [messagesA, messagesB] = await Promise.all([conversation(a, idA, warnings), conversation(b, idB, warnings)]);
    diffTurns(messagesA, messagesB, base, context, out);
  }
}

type Entry = Record<string, unknown> & TurnEntry;

const attemptContext = (entry: Entry | undefined) => (entry?.attemptId ? { attemptId: entry.attemptId, nodeId: entry.attemptId.replace(/#\d+$/, '') } : {});

/**
 * The two conversations turn by turn (turns.ts): a turn only one run has is one added or removed difference (its
 * prompt); a paired turn's entries are compared in order, under `/turns/<n>/messages/<i>`.
 */
function diffTurns(messagesA: Entry[], messagesB: Entry[], base: string, context: DiffContext, out: DiffCollector): void {
  const turnsA = splitTurns(messagesA);
  const turnsB = splitTurns(messagesB);
  for (const pair of alignTurns(turnsA, turnsB)) {
    const path = turnPointer(base, pair);
    const note = turnNote(pair);
    const ta = pair.a === undefined ? undefined : turnsA[pair.a]!;
    const tb = pair.b === undefined ? undefined : turnsB[pair.b]!;
    if (!ta || !tb) {
      const turn = (ta ?? tb)!;
      const prompt = turnPrompt(turn) ?? '(before the first prompt)';
      const size = `${turn.length} message${turn.length === 1 ? '' : 's'}`;
      out.add({ ...context, ...attemptContext(turn[0]), kind: ta ? 'removed' : 'added', path, [ta ? 'a' : 'b']: prompt, note: `${note}; ${size}` });
      continue;
    }
    for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
      const ma = ta[i];
      const mb = tb[i];
      deepDiff(ma, mb, `${path}/messages/${i}`, { ...context, ...attemptContext(ma ?? mb), ...(note ? { note } : {}) }, out);
    }
  }
}

async function sessionBinding(side: Side, sessionId: string): Promise<unknown> {
  try {
    const binding = await loadSessionBinding(side.backend, sessionId);
    return side.normalizer.value({
      handle: binding.handle,
      mode: binding.mode,
      // Normalised by key, like every agentCommand (normalize.ts, normalizeCommand).
      agentCommand: binding.agentCommand,
      agent: binding.agent,
      protocolVersion: binding.protocolVersion,
      authMethodId: binding.authMethodId,
      mcpServers: mcpServerSet(binding.mcpServers),
    });
  } catch (error) {
    if (error instanceof BundleFormatError) return { unreadable: error.message };
    throw error;
  }
}

/**
 * The MCP servers given to the agent, as a set keyed by server name (`/binding/mcpServers/<name>/…`): the order they
 * were listed in is not behaviour, a server added, removed or started otherwise is. Absent and empty are the same: none.
 */
function mcpServerSet(servers: readonly McpServerBinding[] | undefined): Record<string, unknown> | undefined {
  if (!servers || servers.length === 0) return undefined;
  const set: Record<string, unknown> = {};
  for (const { name, ...server } of servers) {
    let key = name;
    for (let n = 2; key in set; n++) key = `${name}#${n}`;
    set[key] = server;
  }
  return set;
}

/**
 * The conversation rebuilt from the raw events (the source of truth), each entry without its positions
 * (`index`, event ranges) and with tool call ids numbered in order of appearance (agents make them up).
 */
async function conversation(side: Side, sessionId: string, warnings: string[]): Promise<Entry[]> {
  const builder = new ConversationBuilder();
  try {
    for await (const { event } of loadSessionEvents(side.backend, sessionId, (issue) => {
      if (warnings.length < 50) warnings.push(`${side.label}: ${issue.message}`);
    })) {
      builder.add(event);
    }
  } catch (error) {
    if (!(error instanceof BundleFormatError)) throw error;
    warnings.push(`${side.label}: ${error.message}`);
  }
  const toolIds = new Map<string, string>();
  const toolId = (id: string) => {
    let mapped = toolIds.get(id);
    if (!mapped) toolIds.set(id, (mapped = `tool-${toolIds.size + 1}`));
    return mapped;
  };
  return builder.messages.map((entry: ConversationEntry) => {
    // `replay` says where a replayed turn came from (the recording, a live agent): provenance, not behaviour. What
    // the live agent answered is compared like any other answer.
    const { index: _index, sessionEvents: _events, replay: _replay, ...rest } = entry;
    const copy: Record<string, unknown> = { ...rest };
    if (typeof copy.toolCallId === 'string') copy.toolCallId = toolId(copy.toolCallId);
    return side.normalizer.value(copy) as Entry;
  });
}
