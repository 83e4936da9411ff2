import type { McpServerBinding } from '@flowtape/schema';

/**
 * The redaction hook: applied to every byte the writer is about to put on disk (trace lines, session traffic,
 * snapshots, artifacts). `kind` says whether the text is JSON (values appear JSON-escaped) or raw (artifact bytes).
 */
export type RedactHook = (text: string, kind: 'json' | 'text') => string;

export interface Replacement {
  /** The literal to find. */
  value: string;
  /** What replaces it, e.g. `[redacted:GITHUB_TOKEN]`. */
  replacement: string;
}

/**
 * Environment variable names whose values are treated as secrets (FLOWTAPE_AUTH_* included, by AUTH). Variables
 * an agent names for its credentials are redacted whatever their name (credentials.ts).
 */
export const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH|COOKIE/i;
/** Shorter values would redact ordinary words and numbers everywhere. */
export const MIN_SECRET_LENGTH = 8;

/** The secrets of an environment: values of variables named like secrets, replaced by `[redacted:NAME]`. */
export function secretsFromEnv(env: Record<string, string | undefined>): Replacement[] {
  const out: Replacement[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value.length < MIN_SECRET_LENGTH || !SECRET_NAME.test(name)) continue;
    out.push({ value, replacement: `[redacted:${name}]` });
  }
  return out;
}

/**
 * A hook replacing literals. In JSON text a value is found in its escaped form (and escaped twice, for JSON
 * carried inside a JSON string, as in tool-call arguments). Longer literals go first so a secret containing
 * another is replaced whole. Replacements must not contain characters JSON escapes.
 */
export function replacingHook(replacements: readonly Replacement[]): RedactHook {
  const sorted = [...replacements].filter((r) => r.value.length > 0).sort((a, b) => b.value.length - a.value.length);
  const raw = sorted.map((r) => ({ find: r.value, replacement: r.replacement }));
  const json: Array<{ find: string; replacement: string }> = [];
  for (const r of sorted) {
    const once = JSON.stringify(r.value).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    json.push({ find: once, replacement: r.replacement });
    if (twice !== once) json.push({ find: twice, replacement: r.replacement });
  }
  if (raw.length === 0) return (text) => text;
  return (text, kind) => {
    for (const { find, replacement } of kind === 'json' ? json : raw) {
      if (text.includes(find)) text = text.split(find).join(replacement);
    }
    return text;
  };
}

/** Applies hooks left to right. */
export function composeHooks(...hooks: Array<RedactHook | undefined | false>): RedactHook {
  const active = hooks.filter((h): h is RedactHook => typeof h === 'function');
  if (active.length === 0) return (text) => text;
  if (active.length === 1) return active[0]!;
  return (text, kind) => active.reduce((acc, hook) => hook(acc, kind), text);
}

// ——— MCP servers: the env variables and headers flowtape hands an agent are secrets (tokens, API keys) ———

interface NameValue {
  name: string;
  value: string;
}
interface McpServerLike {
  name?: unknown;
  env?: unknown;
  headers?: unknown;
}

/** `[redacted:NAME]`, with only characters JSON never escapes (replacingHook needs that). */
function mcpLabel(name: string): string {
  return `[redacted:${name.replace(/[^A-Za-z0-9_.-]/g, '_')}]`;
}

function pairs(value: unknown): NameValue[] {
  return Array.isArray(value)
    ? value.filter((p): p is NameValue => typeof p?.name === 'string' && typeof p?.value === 'string')
    : [];
}

/**
 * Literal replacements for the values of MCP servers' env variables and headers, so they are found wherever they
 * show up (an agent's stderr, a message echoing its config). For a header like `Bearer <token>` the token alone is
 * replaced too. Values shorter than the secret minimum are left to `redactMcpServers`: replaced everywhere they would
 * mangle ordinary text.
 */
export function mcpSecrets(servers: readonly McpServerLike[]): Replacement[] {
  const out: Replacement[] = [];
  const add = (value: string, name: string): void => {
    if (value.length >= MIN_SECRET_LENGTH && !out.some((r) => r.value === value)) out.push({ value, replacement: mcpLabel(name) });
  };
  for (const server of servers) {
    for (const { name, value } of [...pairs(server.env), ...pairs(server.headers)]) {
      add(value, name);
      const credential = /^[A-Za-z][\w-]*\s+(\S.*)$/.exec(value)?.[1];
      if (credential !== undefined) add(credential, name);
    }
  }
  return out;
}

/** A copy of `servers` with every env variable's and header's value replaced by `[redacted:NAME]`, whatever its length. */
export function redactMcpServers<T extends McpServerLike>(servers: readonly T[]): T[] {
  const hide = (list: unknown): unknown =>
    Array.isArray(list) ? list.map((p: unknown) => (typeof (p as NameValue)?.name === 'string' ? { ...(p as NameValue), value: mcpLabel((p as NameValue).name) } : p)) : list;
  return servers.map((server) => ({
    ...server,
    ...(server.env !== undefined ? { env: hide(server.env) } : {}),
    ...(server.headers !== undefined ? { headers: hide(server.headers) } : {}),
  }));
}

/**
 * The binding's record of MCP servers: the format's names (`transport`, never ACP's `type`; no `_meta`) and every
 * env and header value redacted.
 */
export function mcpServersForBinding(servers: readonly McpServerLike[]): McpServerBinding[] {
  return redactMcpServers(servers).map((server) => {
    const s = server as { name: string; type?: string; command?: string; args?: string[]; url?: string; env?: NameValue[]; headers?: NameValue[] };
    return s.type === 'http' || s.type === 'sse'
      ? { name: s.name, transport: s.type, url: s.url ?? '', headers: s.headers ?? [] }
      : { name: s.name, transport: 'stdio', command: s.command ?? '', args: s.args ?? [], env: s.env ?? [] };
  });
}

/**
 * A JSON-RPC message with the MCP servers it carries (`params.mcpServers` of session/new, session/load, …) redacted
 * as in `redactMcpServers`; any other message is returned as it is.
 */
export function redactMcpInMessage(message: unknown): unknown {
  const params = (message as { params?: { mcpServers?: unknown } } | null)?.params;
  if (typeof params !== 'object' || params === null || !Array.isArray(params.mcpServers) || params.mcpServers.length === 0) return message;
  return { ...(message as object), params: { ...params, mcpServers: redactMcpServers(params.mcpServers as McpServerLike[]) } };
}
