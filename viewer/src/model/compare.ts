// The compare page's model: two loaded bundles and the diff engine's result (the same engine and the same wording
// as `flowtape diff`), with what the page needs to point from a difference to what it is about: the attempt it
// selects, the nodes whose behaviour differs, the session keys the diff aligns sessions by. Pure: no React, no I/O.
import { alignTurns, groupDifferences, Normalizer, splitTurns, turnPointer, type Aligned, type Difference, type DiffResult } from '@flowtape/schema/diff';
import { isSwitchEdge, terminalSafe, type ConversationEntry, type EdgeSpec, type FlowSnapshot, type Step } from '@flowtape/schema';
import type { BundleModel } from './bundle-model.ts';

export type SideName = 'a' | 'b';

export interface DiffLine {
  /** Position in the list (0-based, across groups). */
  index: number;
  /** The line exactly as `flowtape diff` prints it (without its two-space indent). */
  text: string;
  difference: Difference;
  /** The attempt a click selects, when the difference is about one. */
  target?: string;
}

export interface DiffGroup {
  title: string;
  lines: DiffLine[];
}

export interface CompareModel {
  a: BundleModel;
  b: BundleModel;
  result: DiffResult;
  groups: DiffGroup[];
  /** Nodes with a behaviour difference (usage differences are not behaviour unless counted). */
  differing: ReadonlySet<string>;
  /** Every attempt id of either run: a's order, then b's that a lacks. */
  attempts: string[];
  /** The diff's session key (`handle`, `handle#2`) of each flowtape session id, per side. */
  sessionKeys: Record<SideName, ReadonlyMap<string, string>>;
  /** A value of one side as the diff compares it: times, ids, paths of that run replaced (`<cwd>`, `<run-id>`…). */
  normalize: Record<SideName, (value: unknown) => unknown>;
}

/** Where each side's bundle is and the machine's volatile roots: what the diff engine was given. */
export interface CompareRoots {
  dirs?: Partial<Record<SideName, string>>;
  machine?: { tmpDir?: string; homeDir?: string };
}

/**
 * One side's normaliser, with the tokens the diff engine learns from that run (diff/bundles.ts, diff/model.ts):
 * its bundle directory, the machine's tmp and home, the run id, the run's cwd, session and ACP session ids.
 */
export function sideNormalizer(model: BundleModel, dir: string | undefined, machine: CompareRoots['machine'] = {}): Normalizer {
  const n = new Normalizer({ bundleDir: dir, tmpDir: machine.tmpDir, homeDir: machine.homeDir });
  n.addToken(model.manifest?.runId, '<run-id>');
  for (const e of model.timeline.events) {
    const payload = (e.payload ?? {}) as Record<string, unknown>;
    if (e.type === 'run.started') {
      n.addToken(e.runId, '<run-id>');
      if (typeof payload.cwd === 'string') n.addPath(payload.cwd, '<cwd>');
    } else if (e.type === 'session.bound') {
      n.addToken(e.sessionId, '<session>');
      if (typeof payload.acpSessionId === 'string') n.addToken(payload.acpSessionId, '<acp-session>');
    }
  }
  return n;
}

const ATTEMPT = /#\d+$/;

/** The attempt a difference is about: its own, else the first of a path hunk, else the node's first. */
export function targetOf(diff: Difference): string | undefined {
  if (diff.attemptId) return diff.attemptId;
  for (const side of [diff.b, diff.a]) {
    if (Array.isArray(side)) {
      const first = side.find((id): id is string => typeof id === 'string' && ATTEMPT.test(id));
      if (first) return first;
    }
  }
  if (diff.nodeId) return `${diff.nodeId}#1`;
  return undefined;
}

/** Session id → key, as the diff engine numbers them: by handle, in the order the sessions were bound. */
export function sessionKeysOf(model: BundleModel): Map<string, string> {
  const keys = new Map<string, string>();
  const perHandle = new Map<string, number>();
  for (const event of model.timeline.events) {
    if (event.type !== 'session.bound' || !event.sessionId || keys.has(event.sessionId)) continue;
    const handle = (event.payload as { handle?: unknown } | undefined)?.handle;
    if (typeof handle !== 'string') continue;
    const n = (perHandle.get(handle) ?? 0) + 1;
    perHandle.set(handle, n);
    keys.set(event.sessionId, n === 1 ? handle : `${handle}#${n}`);
  }
  return keys;
}

export function buildCompareModel(a: BundleModel, b: BundleModel, result: DiffResult, roots: CompareRoots = {}): CompareModel {
  let index = 0;
  const groups = groupDifferences(result.differences).map((group) => ({
    title: terminalSafe(group.title),
    // terminalSafe, as the CLI writes every line through it: the two lists are equal to the character.
    lines: group.lines.map(({ difference, text }) => ({ index: index++, text: terminalSafe(text), difference, target: targetOf(difference) })),
  }));
  const differing = new Set<string>();
  for (const d of result.differences) {
    if (d.section === 'usage' && !result.usageCounted) continue;
    if (d.nodeId) differing.add(d.nodeId);
    else if (d.section === 'flow') {
      const m = /^\/flow\/nodes\/([^/]+)/.exec(d.path);
      if (m) differing.add(m[1]!.replaceAll('~1', '/').replaceAll('~0', '~'));
    }
  }
  const attempts = [...a.timeline.final.steps].map((s) => s.attemptId);
  const seen = new Set(attempts);
  for (const s of b.timeline.final.steps) if (!seen.has(s.attemptId)) attempts.push(s.attemptId);
  const na = sideNormalizer(a, roots.dirs?.a, roots.machine);
  const nb = sideNormalizer(b, roots.dirs?.b, roots.machine);
  return {
    a, b, result, groups, differing, attempts,
    sessionKeys: { a: sessionKeysOf(a), b: sessionKeysOf(b) },
    normalize: { a: (v) => na.value(v), b: (v) => nb.value(v) },
  };
}

export function stepOf(model: BundleModel, attemptId: string): Step | undefined {
  const final = model.timeline.final;
  const i = final.stepIndex.get(attemptId);
  return i === undefined ? undefined : final.steps.get(i);
}

/** The flow both graphs are drawn on: a's definition plus the nodes and edges only b's has. */
export function unionFlow(a: FlowSnapshot | undefined, b: FlowSnapshot | undefined): FlowSnapshot | undefined {
  if (!a || !b) return a ?? b;
  const ids = new Set(a.nodes.map((n) => n.id));
  const edgeKey = (e: EdgeSpec) => (isSwitchEdge(e) ? `${e.from}->switch:${JSON.stringify(e.switch)}` : `${e.from}->${e.to}`);
  const edges = new Set(a.edges.map(edgeKey));
  return {
    ...a,
    nodes: [...a.nodes, ...b.nodes.filter((n) => !ids.has(n.id))],
    edges: [...a.edges, ...b.edges.filter((e) => !edges.has(edgeKey(e)))],
  };
}

/** Differences whose path lies under `prefix` (a JSON pointer), e.g. the messages of one session. */
export function differencesUnder(result: DiffResult, prefix: string): Difference[] {
  return result.differences.filter((d) => d.path === prefix || d.path.startsWith(prefix + '/'));
}

/** The signed change from a to b, for usage and duration deltas. */
export function delta(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : b - a;
}

/** One pair of entries of a compared turn, paired in order within the turn as the diff pairs them. */
export interface CompareEntryRow {
  a?: ConversationEntry;
  b?: ConversationEntry;
  /** The fields the diff found changed (paths relative to the entry), or undefined when it found none. */
  fields?: string[];
  /** Changed, or on one side only. */
  changed: boolean;
}

/** A row of the conversation compare: a turn of a, of b or of both (0-based indexes), and its entry rows. */
export interface CompareTurn extends Aligned {
  /** The side that alone has this turn, or '' when both have it. */
  only: '' | SideName;
  rows: CompareEntryRow[];
}

/**
 * The two conversations of one session side by side, as the diff engine aligns them (turns.ts in the schema's diff:
 * the same turns, paired the same way) and with the changes it reported there (`differences`, picked by path under
 * `base`, `/sessions/<key>`): the page recomputes nothing the engine decides. With `attemptId`, only the turns that
 * attempt took part in, and in them only its entries (and those of no attempt).
 */
export function compareTurns(
  messages: Record<SideName, readonly ConversationEntry[]>,
  normalize: Record<SideName, (value: unknown) => unknown>,
  differences: readonly Difference[],
  base: string,
  attemptId?: string,
): CompareTurn[] {
  const turnsA = splitTurns(messages.a);
  const turnsB = splitTurns(messages.b);
  const shown = (entry: ConversationEntry | undefined) => entry !== undefined && (entry.attemptId === undefined || entry.attemptId === attemptId);
  const out: CompareTurn[] = [];
  for (const pair of alignTurns(turnsA, turnsB, normalize)) {
    const ta = pair.a === undefined ? [] : turnsA[pair.a]!;
    const tb = pair.b === undefined ? [] : turnsB[pair.b]!;
    if (attemptId !== undefined && ![...ta, ...tb].some((e) => e.attemptId === attemptId)) continue;
    const only = pair.a === undefined ? 'b' : pair.b === undefined ? 'a' : '';
    const path = turnPointer(base, pair);
    const rows: CompareEntryRow[] = [];
    for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
      const [a, b] = [ta[i], tb[i]];
      if (attemptId !== undefined && !shown(a) && !shown(b)) continue;
      const fields = only ? undefined : changedFields(differences, `${path}/messages/${i}`);
      rows.push({ ...(a ? { a } : {}), ...(b ? { b } : {}), ...(fields ? { fields } : {}), changed: Boolean(fields || !a || !b) });
    }
    out.push({ ...pair, only, rows });
  }
  return out;
}

/** The fields of the entry at `prefix` the diff found changed (relative to it), or undefined when none. */
function changedFields(differences: readonly Difference[], prefix: string): string[] | undefined {
  const fields = differences.filter((d) => d.path === prefix || d.path.startsWith(prefix + '/')).map((d) => d.path.slice(prefix.length) || '(whole entry)');
  return fields.length > 0 ? fields : undefined;
}

/** The nodes one run has and the other lacks entirely (in neither its flow nor its trace): id → the run that has it. */
export function onlyIn(model: Pick<CompareModel, 'a' | 'b'>): Map<string, SideName> {
  const has = (m: BundleModel) => new Set([...(m.flow?.nodes ?? []).map((n) => n.id), ...m.timeline.final.nodes.keys()]);
  const ha = has(model.a);
  const hb = has(model.b);
  const out = new Map<string, SideName>();
  for (const id of ha) if (!hb.has(id)) out.set(id, 'a');
  for (const id of hb) if (!ha.has(id)) out.set(id, 'b');
  return out;
}
