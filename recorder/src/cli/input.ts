/** `--input JSON|@file` and other small argument parsers shared by commands. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_PERMISSION_POLICY } from '../acp/permissions.ts';
import { describeJsonError } from '../json-error.ts';
import { parseMcpServers, type McpServer } from '../runtime/mcp-servers.ts';
import { UsageError } from './errors.ts';

export { DEFAULT_RUNS_ROOT } from '../runs-root.ts';

/** Why a file named on the command line could not be read, in words (not Node's errno text). */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  return (error as Error).message.split('\n')[0]!;
}

/** Parses `--input`: inline JSON, or `@path` to a JSON file (relative to cwd). */
export function parseInput(value: string | undefined, cwd: string, option = '--input'): unknown {
  if (value === undefined) return undefined;
  let text = value;
  let where = option;
  if (value.startsWith('@')) {
    const file = resolve(cwd, value.slice(1));
    where = `${option} ${value}`;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`${where}: cannot read ${file} (${unreadable(error)})`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${describeJsonError(text, error)})`);
  }
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return port;
}

export const PERMISSION_POLICIES = ['approve-all', 'approve-reads', 'deny'] as const;

/** `--permission`'s help: the default, and what each policy answers (README, "Permission policies", has the table). */
export const PERMISSION_HELP =
  `how agent permission requests are answered when the flow and node name no policy (default: ${DEFAULT_PERMISSION_POLICY}): ` +
  'approve-reads allows tool calls of kind read and search and rejects every other kind; ' +
  'approve-all allows all; deny rejects all (an agent that offers no reject option gets its turn cancelled)';

export const MCP_CONFIG_HELP =
  'MCP servers for the agents\' sessions: a JSON file {"mcpServers": …}, either ACP\'s array or the name → server map of ' +
  '.mcp.json files; a flow\'s or node\'s mcpServers replaces it';

/** Reads `--mcp-config <file>`: `{ "mcpServers": [...] }` (ACP's shape) or `{ "mcpServers": { name: {...} } }`. */
export function readMcpConfig(value: string, cwd: string): McpServer[] {
  const where = `--mcp-config ${value}`;
  let text: string;
  try {
    text = readFileSync(resolve(cwd, value), 'utf8');
  } catch (error) {
    throw new UsageError(`${where}: ${unreadable(error)}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${describeJsonError(text, error)})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config) || !('mcpServers' in config)) {
    throw new UsageError(`${where}: expected a JSON object with "mcpServers" (an array of servers, or an object of name → server)`);
  }
  const parsed = parseMcpServers(config.mcpServers);
  if ('problem' in parsed) throw new UsageError(`${where}: ${parsed.problem}`);
  return parsed.servers;
}

export const AUTH_FLAG_HELP =
  'the ACP auth method to log in with (one the agent lists in `initialize`, e.g. codex-api-key); default: the one ' +
  'method whose credentials are in the environment (see README, "Agents that need a login")';

/** `--auth <methodId>`: a method id as the agent advertises it. */
export function authFlag(value: string): string {
  const id = value.trim();
  if (id === '') throw new UsageError('--auth: give an auth method id, e.g. --auth codex-api-key');
  return id;
}
