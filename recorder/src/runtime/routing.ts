// Where a flow goes after an attempt: pure functions over the compiled edges (no events, no I/O).
import type { FlowDefinition, FlowEdge, FlowNodeResult } from './definition.ts';
import { NodeError } from './errors.ts';

interface CompiledSwitch {
  on: string;
  source: 'output' | 'result' | 'resume';
  path: readonly string[];
  cases: Record<string, string>;
  default: string | undefined;
}

export type CompiledEdge = { to: string; switch?: undefined } | { to?: undefined; switch: CompiledSwitch };

/** Outgoing edge per node id (a node has at most one: a direct edge or a switch). */
export function compileEdges(flow: FlowDefinition): Map<string, CompiledEdge> {
  const edges = new Map<string, CompiledEdge>();
  for (const edge of flow.edges) edges.set(edge.from, compileEdge(edge));
  return edges;
}

/** The node ids a run can still reach from `start` (itself excluded unless a loop leads back to it). */
export function reachableFrom(edges: ReadonlyMap<string, CompiledEdge>, start: string): Set<string> {
  const seen = new Set<string>();
  const next = (id: string): string[] => {
    const edge = edges.get(id);
    if (!edge) return [];
    if (edge.to !== undefined) return [edge.to];
    return [...Object.values(edge.switch.cases), ...(edge.switch.default !== undefined ? [edge.switch.default] : [])];
  };
  const queue = next(start);
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    queue.push(...next(id));
  }
  return seen;
}

function compileEdge(edge: FlowEdge): CompiledEdge {
  if ('to' in edge) return { to: edge.to };
  const on = edge.switch.on;
  const [head = '$', ...path] = on.split('.');
  const source = head === '$result' ? 'result' : head === '$resume' ? 'resume' : 'output';
  return { switch: { on, source, path, cases: edge.switch.cases, default: edge.switch.default } };
}

function readPath(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export interface Branch {
  on: string;
  value: unknown;
  caseKey?: string;
  isDefault?: boolean;
}

export type Route =
  /** No outgoing edge: the run ends here. */
  | { kind: 'end' }
  /** The attempt did not succeed and no `$result.*` switch routes it. */
  | { kind: 'unrouted' }
  | { kind: 'next'; to: string; branch?: Branch };

/**
 * The next node after `nodeId`'s attempt. A failed, timed-out or cancelled attempt only follows a switch on
 * `$result.*` (acpx's rule). Throws NodeError(`no_switch_case`) when a switch has no case for the value and no
 * default, or reads a value that is not a scalar.
 */
export function route(
  edges: Map<string, CompiledEdge>,
  nodeId: string,
  result: FlowNodeResult,
  resume: unknown,
): Route {
  const edge = edges.get(nodeId);
  if (!edge) return { kind: 'end' };
  const ok = result.outcome === 'ok';
  if (edge.to !== undefined) return ok ? { kind: 'next', to: edge.to } : { kind: 'unrouted' };
  const sw = edge.switch;
  if (!ok && sw.source !== 'result') return { kind: 'unrouted' };
  const root = sw.source === 'result' ? result : sw.source === 'resume' ? resume : result.output;
  const value = readPath(root, sw.path);
  const key = switchKey(value);
  if (key !== undefined && Object.hasOwn(sw.cases, key)) {
    return { kind: 'next', to: sw.cases[key]!, branch: { on: sw.on, value: value ?? null, caseKey: key } };
  }
  if (sw.default !== undefined) {
    return { kind: 'next', to: sw.default, branch: { on: sw.on, value: jsonish(value), isDefault: true } };
  }
  const shown = value === undefined ? 'nothing (the path is absent)' : key === undefined ? 'a non-scalar value' : JSON.stringify(value);
  throw new NodeError(
    'no_switch_case',
    `node "${nodeId}": switch on ${sw.on} read ${shown}; no case matches (cases: ${Object.keys(sw.cases).join(', ') || 'none'}) and there is no default`,
  );
}

function switchKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  return undefined;
}

/** The switch value as recorded: scalars as they are, anything else summarised (the edge event stays small). */
function jsonish(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return value;
  return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
}
