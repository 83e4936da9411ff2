// MCP servers that flowtape hands to ACP agents in `session/new`. One parser for every place they come from (a
// flow's or a node's `mcpServers`, runFlow's option, the CLI's `--mcp-config` file), accepting both shapes people
// write:
//  - ACP's array: `[{ name, command, args, env: [{ name, value }] }, { type: "http" | "sse", name, url, headers: [...] }]`
//  - the name → server map of `.mcp.json` / Claude Desktop / Cursor files: `{ github: { command, args, env: { K: V } } }`
// `env` and `headers` may be either `[{ name, value }]` or `{ NAME: value }` in both. The result is always ACP's exact
// shape, so the agent receives what ACP defines whatever the author wrote.
import type { McpServer } from '@agentclientprotocol/sdk';
import type { FlowDefinition } from './definition.ts';

type NameValues = ReadonlyArray<{ name: string; value: string }> | Readonly<Record<string, string>>;

/** A stdio server: the agent starts `command` (ACP asks for an absolute path; many agents also search PATH). */
export interface McpStdioServerInput {
  type?: 'stdio';
  name: string;
  command: string;
  args?: readonly string[];
  env?: NameValues;
  _meta?: Record<string, unknown> | null;
}

/** A remote server over streamable HTTP (`http`) or server-sent events (`sse`). */
export interface McpRemoteServerInput {
  type: 'http' | 'sse';
  name: string;
  url: string;
  headers?: NameValues;
  _meta?: Record<string, unknown> | null;
}

export type McpServerInput = McpStdioServerInput | McpRemoteServerInput;

/** ACP's array, or a name → server map (each entry without `name`). */
export type McpServersInput =
  | readonly McpServerInput[]
  | Readonly<Record<string, Omit<McpStdioServerInput, 'name'> | Omit<McpRemoteServerInput, 'name'>>>;

export type { McpServer };

const STDIO_KEYS = new Set(['type', 'name', 'command', 'args', 'env', '_meta']);
const REMOTE_KEYS = new Set(['type', 'name', 'url', 'headers', '_meta']);

class Problem extends Error {}

/**
 * Parses `value` (named `label` in messages, e.g. `mcpServers`) into ACP McpServer objects, or says what is wrong in
 * one phrase naming the entry, e.g. "`mcpServers.github.url` must be an http:// or https:// URL".
 */
export function parseMcpServers(value: unknown, label = 'mcpServers'): { servers: McpServer[] } | { problem: string } {
  try {
    return { servers: parseOrThrow(value, label) };
  } catch (error) {
    if (error instanceof Problem) return { problem: error.message };
    throw error;
  }
}

function parseOrThrow(value: unknown, label: string): McpServer[] {
  let entries: Array<{ at: string; raw: unknown; name?: string }>;
  if (Array.isArray(value)) entries = value.map((raw, i) => ({ at: `${label}[${i}]`, raw }));
  else if (isRecord(value)) entries = Object.entries(value).map(([name, raw]) => ({ at: `${label}.${name}`, raw, name }));
  else throw new Problem(`\`${label}\` must be an array of MCP servers or an object of name → server`);
  const seen = new Set<string>();
  return entries.map(({ at, raw, name }) => {
    const server = parseServer(raw, at, name);
    if (seen.has(server.name)) throw new Problem(`\`${at}\`: two MCP servers are named "${server.name}"`);
    seen.add(server.name);
    return server;
  });
}

function parseServer(raw: unknown, at: string, mapName: string | undefined): McpServer {
  if (!isRecord(raw)) throw new Problem(`\`${at}\` must be an object`);
  const type = raw.type ?? 'stdio';
  if (type !== 'stdio' && type !== 'http' && type !== 'sse') {
    throw new Problem(`\`${at}.type\` must be "stdio", "http" or "sse" (got ${JSON.stringify(type)})`);
  }
  const name = mapName ?? raw.name;
  if (mapName !== undefined && raw.name !== undefined && raw.name !== mapName) {
    throw new Problem(`\`${at}.name\` is "${String(raw.name)}" but the entry is named "${mapName}"`);
  }
  if (typeof name !== 'string' || name.trim() === '') throw new Problem(`\`${at}.name\` must be a non-empty string`);
  const allowed = type === 'stdio' ? STDIO_KEYS : REMOTE_KEYS;
  const unknown = Object.keys(raw).find((key) => !allowed.has(key));
  if (unknown !== undefined) {
    const hint = type === 'stdio' && unknown === 'url' ? ' (a remote server needs `type`: "http" or "sse")' : '';
    throw new Problem(`\`${at}\` has an unknown key \`${unknown}\` for a ${type} server${hint}`);
  }
  const meta = raw._meta;
  if (meta !== undefined && meta !== null && !isRecord(meta)) throw new Problem(`\`${at}._meta\` must be an object or null`);
  const extra = meta !== undefined ? { _meta: meta as Record<string, unknown> | null } : {};
  if (type === 'stdio') {
    if (typeof raw.command !== 'string' || raw.command.trim() === '') throw new Problem(`\`${at}.command\` must be a non-empty string`);
    const args = raw.args ?? [];
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new Problem(`\`${at}.args\` must be an array of strings`);
    return { name, command: raw.command, args: [...args], env: nameValues(raw.env, `${at}.env`), ...extra };
  }
  if (typeof raw.url !== 'string' || !isHttpUrl(raw.url)) throw new Problem(`\`${at}.url\` must be an http:// or https:// URL`);
  return { type, name, url: raw.url, headers: nameValues(raw.headers, `${at}.headers`), ...extra };
}

function nameValues(value: unknown, at: string): Array<{ name: string; value: string }> {
  if (value === undefined) return [];
  const pairs = Array.isArray(value)
    ? value.map((entry, i) => {
        if (!isRecord(entry)) throw new Problem(`\`${at}[${i}]\` must be { name, value }`);
        return { name: entry.name, value: entry.value, where: `${at}[${i}]` };
      })
    : isRecord(value)
      ? Object.entries(value).map(([name, v]) => ({ name, value: v, where: `${at}.${name}` }))
      : undefined;
  if (!pairs) throw new Problem(`\`${at}\` must be an object of name → string or an array of { name, value }`);
  return pairs.map(({ name, value: v, where }) => {
    if (typeof name !== 'string' || name === '') throw new Problem(`\`${where}.name\` must be a non-empty string`);
    if (typeof v !== 'string') throw new Problem(`\`${where}\` must have a string value`);
    return { name, value: v };
  });
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every MCP server a run of `flow` may send (the flow's, each ACP node's, the run's), for redaction set up before
 * the run starts. Entries that do not parse are skipped: validation reports them.
 */
export function allMcpServers(flow: FlowDefinition, runLevel: unknown): McpServer[] {
  const sources: unknown[] = [runLevel, flow.mcpServers];
  // Object.keys, not Object.values: on a flow of many nodes (an object in dictionary mode) V8's Object.values costs
  // several times more (measured 140–250 ms at 100,000 nodes and 2–3.8 s at 1,000,000, against 50–250 ms and
  // 0.6–0.9 s), and every recorded run pays this.
  const nodes = flow.nodes ?? {};
  for (const id of Object.keys(nodes)) {
    const node = nodes[id];
    if (node?.nodeType === 'acp') sources.push(node.mcpServers);
  }
  return sources.flatMap((source) => {
    if (source === undefined) return [];
    const parsed = parseMcpServers(source);
    return 'servers' in parsed ? parsed.servers : [];
  });
}
