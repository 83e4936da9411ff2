// acpx's documents as plain values: their shapes, the small readers the importer uses on them, and its error.
import type { ErrorInfo } from '@flowtape/schema';
import type { SessionData } from './import-acpx-turns.ts';

export const ACPX_BUNDLE_SCHEMA = 'acpx.flow-run-bundle.v1';
export const ACPX_FLOW_SCHEMA = 'acpx.flow-definition-snapshot.v1';
export const ENDED = new Set(['completed', 'failed', 'timed_out', 'cancelled']);

export class ImportError extends Error {
  override name = 'ImportError';
}

export type Json = Record<string, unknown>;

export interface AcpxRef {
  path: string;
  mediaType?: string;
  bytes?: number;
  sha256?: string;
}

export interface AcpxEvent {
  line: number;
  seq?: number;
  at: string;
  runId?: string;
  type: string;
  nodeId?: string;
  attemptId?: string;
  sessionId?: string;
  payload: Json;
}

export function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function isRef(value: unknown): value is AcpxRef {
  const o = asObject(value);
  return o !== undefined && typeof o.path === 'string';
}

/** acpx errors are free text, often several lines (`…: exit 3\nboom`): one line a person can read. */
export function errorInfo(error: unknown, code?: string): ErrorInfo | undefined {
  if (error === null || error === undefined) return undefined;
  const text = typeof error === 'string' ? error : str(asObject(error)?.message) ?? JSON.stringify(error);
  const message = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' — ');
  return { message: message || 'error', ...(code ? { code } : {}) };
}

export function attemptNumber(attemptId: string): number {
  const match = /#([1-9][0-9]*)$/.exec(attemptId);
  return match ? Number(match[1]) : 1;
}

/** `$.a.b`, `$output.a.b` (the output) or `$result.a.b` (the node result), as acpx evaluates switches. */
export function evaluateSwitch(on: string, output: unknown, result: Json): { ok: true; value: unknown } | { ok: false } {
  let base: unknown;
  let rest: string;
  if (on.startsWith('$result')) {
    base = result;
    rest = on.slice('$result'.length);
  } else if (on.startsWith('$output')) {
    base = output;
    rest = on.slice('$output'.length);
  } else if (on.startsWith('$')) {
    base = output;
    rest = on.slice(1);
  } else {
    return { ok: false };
  }
  let value = base;
  for (const key of rest.split('.').filter(Boolean)) {
    const o = value !== null && typeof value === 'object' ? (value as Json) : undefined;
    if (!o || !Object.hasOwn(o, key)) return { ok: false };
    value = o[key];
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? { ok: true, value } : { ok: false };
}

/** Whether an acpx session was an isolated one (acpx names them so, in its session id or its binding key). */
export function isIsolatedSession(session: SessionData): boolean {
  const key = str(session.binding.key) ?? '';
  return session.id.startsWith('isolated-') || key.startsWith('isolated::');
}

/**
 * The agent's argv from acpx's binding. acpx runs `agentArgv` as the whole argv when it has one (program first) and
 * then writes `agentCommand` as that same argv rendered to one string, so the two must not be joined: that doubled
 * the program. Without `agentArgv`, `agentCommand` is the command line, split on spaces.
 */
export function acpxAgentCommand(binding: Json): string[] {
  if (Array.isArray(binding.agentArgv) && binding.agentArgv.length > 0) return binding.agentArgv.map(String);
  return str(binding.agentCommand)?.split(/\s+/).filter(Boolean) ?? [];
}
