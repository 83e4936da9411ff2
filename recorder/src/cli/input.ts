/** `--input JSON|@file` and other small argument parsers shared by commands. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.ts';

export { DEFAULT_RUNS_ROOT } from '../runs-root.ts';

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
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`${where}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (error as Error).message})`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return port;
}

export const PERMISSION_POLICIES = ['approve-all', 'approve-reads', 'deny'] as const;

export const AUTH_FLAG_HELP =
  'the ACP auth method to log in with (one the agent lists in `initialize`, e.g. codex-api-key); default: the one ' +
  'method whose credentials are in the environment (see README, "Agents that need a login")';

/** `--auth <methodId>`: a method id as the agent advertises it. */
export function authFlag(value: string): string {
  const id = value.trim();
  if (id === '') throw new UsageError('--auth: give an auth method id, e.g. --auth codex-api-key');
  return id;
}
