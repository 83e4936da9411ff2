/**
 * The sessions of two runs, paired by handle (`handle`, `handle#2`, … in order of binding), one pair at a time:
 * their bindings, then their conversations rebuilt from the raw events.
 */
import { ConversationBuilder } from '../conversation.ts';
import { loadSessionBinding, loadSessionEvents } from '../loader.ts';
import type { ConversationEntry, McpServerBinding } from '../session.ts';
import { BundleFormatError } from '../validate.ts';
import { deepDiff, type DiffCollector, type DiffContext } from './core.ts';
import { pointer } from './normalize.ts';
import type { Side } from './side.ts';

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
    if (messagesA.length !== messagesB.length) {
      out.add({ ...context, kind: 'changed', path: `${base}/messageCount`, a: messagesA.length, b: messagesB.length });
    }
    for (let i = 0; i < Math.max(messagesA.length, messagesB.length); i++) {
      const ma = messagesA[i];
      const mb = messagesB[i];
      const attemptId = (ma as { attemptId?: string } | undefined)?.attemptId ?? (mb as { attemptId?: string } | undefined)?.attemptId;
      deepDiff(ma, mb, `${base}/messages/${i}`, { ...context, ...(attemptId ? { attemptId, nodeId: attemptId.replace(/#\d+$/, '') } : {}) }, out);
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
async function conversation(side: Side, sessionId: string, warnings: string[]): Promise<unknown[]> {
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
    return side.normalizer.value(copy);
  });
}
