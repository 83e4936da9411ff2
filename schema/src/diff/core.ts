/** The generic parts of `flowtape diff`: differences, their collector, a structural JSON diff, the path differ. */
import type { IgnoreRules } from './normalize.ts';
import { pointerSegment } from './normalize.ts';

export type DiffSection = 'run' | 'flow' | 'path' | 'attempt' | 'artifact' | 'session' | 'usage';
export const SECTIONS: readonly DiffSection[] = ['run', 'flow', 'path', 'attempt', 'artifact', 'session', 'usage'];

export interface Difference {
  section: DiffSection;
  kind: 'added' | 'removed' | 'changed';
  /** JSON pointer into the diff's model of a run (what `--ignore` matches), e.g. `/attempts/review#1/output/verdict`. */
  path: string;
  nodeId?: string;
  attemptId?: string;
  session?: string;
  /** The value in `a` (absent when added); long values are cut. */
  a?: unknown;
  b?: unknown;
  /** Extra words for a person, e.g. `line 3` of a text artifact. */
  note?: string;
}

export interface DiffContext {
  section: DiffSection;
  nodeId?: string;
  attemptId?: string;
  session?: string;
  /** Words for every difference found under this context (e.g. where a paired turn stands in each run). */
  note?: string;
}

/** Counts every difference, keeps the first `limit` of each group in full: memory stays bounded however different two runs are. */
export class DiffCollector {
  readonly differences: Difference[] = [];
  readonly counts: Record<DiffSection, number> = { run: 0, flow: 0, path: 0, attempt: 0, artifact: 0, session: 0, usage: 0 };
  /** Behaviour differences: every section but `usage`, unless `countUsage`. */
  total = 0;
  /** Every difference counted, usage included. */
  all = 0;

  constructor(
    readonly ignore: IgnoreRules,
    readonly limit: number,
    /** Usage (tokens, cost) is reported in a section of its own and only counts as a behaviour difference when asked. */
    readonly countUsage = false,
  ) {}

  /** Kept so far: the run, flow and path sections have their own allowance, so thousands of attempt details
   *  never crowd out the summary a reader needs first. */
  private keptSummary = 0;
  private keptDetail = 0;

  add(diff: Difference): void {
    if (this.ignore.matches(diff.path)) return;
    this.all++;
    if (diff.section !== 'usage' || this.countUsage) this.total++;
    this.counts[diff.section]++;
    const summary = diff.section === 'run' || diff.section === 'flow' || diff.section === 'path';
    if (summary ? this.keptSummary++ < this.limit : this.keptDetail++ < this.limit) this.differences.push(shorten(diff));
  }
}

const MAX_TEXT = 400;
const MAX_JSON = 600;

function shorten(diff: Difference): Difference {
  const out = { ...diff };
  if (typeof diff.a === 'string' && typeof diff.b === 'string') {
    const [a, b, note] = excerpt(diff.a, diff.b);
    out.a = a;
    out.b = b;
    // The excerpt's line goes after the context's own words (a turn's place), not instead of them.
    if (note) out.note = out.note ? `${out.note}; ${note}` : note;
  } else {
    if (diff.a !== undefined) out.a = cut(diff.a);
    if (diff.b !== undefined) out.b = cut(diff.b);
  }
  for (const key of ['a', 'b', 'note'] as const) if (out[key] === undefined) delete out[key];
  for (const key of ['nodeId', 'attemptId', 'session'] as const) if (out[key] === undefined) delete out[key];
  return out;
}

function cut(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) + '…' : value;
  const json = JSON.stringify(value);
  if (json !== undefined && json.length > MAX_JSON) return json.slice(0, MAX_JSON) + `… (${json.length} characters)`;
  return value;
}

/** Two long or multi-line strings cut down to the line where they first differ. */
export function excerpt(a: string, b: string): [string, string, string | undefined] {
  if (a.length <= 120 && b.length <= 120 && !a.includes('\n') && !b.includes('\n')) return [a, b, undefined];
  const linesA = a.split('\n');
  const linesB = b.split('\n');
  let line = 0;
  while (line < linesA.length && line < linesB.length && linesA[line] === linesB[line]) line++;
  const la = linesA[line] ?? '';
  const lb = linesB[line] ?? '';
  const note =
    linesA.length > 1 || linesB.length > 1
      ? `line ${line + 1}${linesA.length !== linesB.length ? ` (${linesA.length} → ${linesB.length} lines)` : ''}`
      : undefined;
  // Within the line, keep a window around the first differing character.
  let start = 0;
  while (start < la.length && start < lb.length && la[start] === lb[start]) start++;
  const from = Math.max(0, start - 40);
  const window = (text: string) =>
    (from > 0 ? '…' : '') + (text.length - from > 160 ? text.slice(from, from + 160) + '…' : text.slice(from));
  return [line < linesA.length ? window(la) : '', line < linesB.length ? window(lb) : '', note];
}

/** Structural equality of JSON values; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const key of ka) {
    if (!jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface DeepDiffHooks {
  /** Return true to take over the comparison at this path (e.g. two artifacts, compared later by content). */
  intercept?(a: unknown, b: unknown, path: string): boolean;
}

/** Emits the differences between two JSON values, descending into objects (by key) and arrays (by index). */
export function deepDiff(
  a: unknown,
  b: unknown,
  path: string,
  context: DiffContext,
  out: DiffCollector,
  hooks: DeepDiffHooks = {},
): void {
  if (out.ignore.matches(path) || jsonEqual(a, b)) return;
  if (a === undefined) return out.add({ ...context, kind: 'added', path, b });
  if (b === undefined) return out.add({ ...context, kind: 'removed', path, a });
  if (hooks.intercept?.(a, b, path)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const key of keys) deepDiff(a[key], b[key], `${path}/${pointerSegment(key)}`, context, out, hooks);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) deepDiff(a[i], b[i], `${path}/${i}`, context, out, hooks);
    return;
  }
  out.add({ ...context, kind: 'changed', path, a, b });
}

export interface PathHunk {
  /** Index (from 0) in a's path where the hunk starts, and in b's. */
  atA: number;
  atB: number;
  /** The last attempt both runs share before the hunk. */
  after?: string;
  /** Attempts only in a / only in b: how many, and the first and last few of them (the middle is not kept). */
  removed: HunkSide;
  added: HunkSide;
}

export interface HunkSide {
  count: number;
  head: string[];
  tail: string[];
}

const HEAD = 6;
const TAIL = 2;

function side(ids: string[]): HunkSide {
  return ids.length <= HEAD + TAIL
    ? { count: ids.length, head: ids, tail: [] }
    : { count: ids.length, head: ids.slice(0, HEAD), tail: ids.slice(-TAIL) };
}

/** All the ids of a side, when it is short enough to have kept them all. */
const known = (s: HunkSide) => (s.count <= HEAD + TAIL ? s.head : undefined);

/** Two consecutive hunk sides as one: the first HEAD and last TAIL ids of the whole stay known. */
function joinSides(x: HunkSide, y: HunkSide): HunkSide {
  const count = x.count + y.count;
  const xAll = known(x);
  const yAll = known(y);
  if (xAll && yAll && count <= HEAD + TAIL) return { count, head: [...xAll, ...yAll], tail: [] };
  const head = x.count >= HEAD ? (xAll ?? x.head).slice(0, HEAD) : [...(xAll ?? x.head), ...(yAll ?? y.head)].slice(0, HEAD);
  const tail = y.count >= TAIL ? (yAll ?? y.tail).slice(-TAIL) : [...(xAll ?? x.tail), ...(yAll ?? y.tail)].slice(-TAIL);
  return { count, head, tail };
}

/** The ids of a hunk side for display, with `…` for the ones not kept. */
export function hunkIds(s: HunkSide): string[] {
  const shown = s.head.length + s.tail.length;
  return shown >= s.count ? [...s.head, ...s.tail] : [...s.head, `… ${s.count - shown} more …`, ...s.tail];
}

/**
 * Compares the two sequences of attempts as they stream in, holding at most a window of each: where they part,
 * it looks for the nearest point where they meet again (fewest steps skipped), reports the hunk and goes on.
 */
export class PathDiffer {
  private qa: string[] = [];
  private qb: string[] = [];
  private atA = 0;
  private atB = 0;
  private last: string | undefined;
  doneA = false;
  doneB = false;

  /** The hunk being built: consecutive hunks (no shared attempt between them) become one. */
  private open: PathHunk | undefined;

  constructor(
    private readonly report: (hunk: PathHunk) => void,
    private readonly window = 64,
  ) {}

  private emit(hunk: PathHunk): void {
    const open = this.open;
    if (open && open.atA + open.removed.count === hunk.atA && open.atB + open.added.count === hunk.atB) {
      open.removed = joinSides(open.removed, hunk.removed);
      open.added = joinSides(open.added, hunk.added);
      return;
    }
    this.flush();
    this.open = hunk;
  }

  private flush(): void {
    if (this.open) this.report(this.open);
    this.open = undefined;
  }

  pushA(id: string): void {
    this.qa.push(id);
    this.drain();
  }

  pushB(id: string): void {
    this.qb.push(id);
    this.drain();
  }

  finish(): void {
    this.doneA = this.doneB = true;
    this.drain();
  }

  drain(): void {
    for (;;) {
      const { qa, qb } = this;
      if (qa.length > 0 && qb.length > 0 && qa[0] === qb[0]) {
        this.flush();
        this.last = qa.shift();
        qb.shift();
        this.atA++;
        this.atB++;
        continue;
      }
      if (qa.length === 0 && qb.length === 0) {
        if (this.doneA && this.doneB) this.flush();
        return;
      }
      // Wait for more lookahead unless a side has ended or the window is full.
      const enoughA = this.doneA || qa.length >= this.window;
      const enoughB = this.doneB || qb.length >= this.window;
      if (!enoughA || !enoughB) return;
      let best: [number, number] | undefined;
      for (let sum = 1; sum < qa.length + qb.length && !best; sum++) {
        for (let i = 0; i <= sum; i++) {
          const j = sum - i;
          if (i < qa.length && j < qb.length && qa[i] === qb[j]) {
            best = [i, j];
            break;
          }
        }
      }
      // No meeting point in the window. A full window gives up its first half (those attempts are not in the other
      // run nearby); a short one waits, as it may meet the other run further on. When both ended, all goes.
      const half = Math.ceil(this.window / 2);
      const fullA = qa.length >= this.window;
      const fullB = qb.length >= this.window;
      const [i, j] = best ?? (fullA || fullB ? [fullA ? half : 0, fullB ? half : 0] : [qa.length, qb.length]);
      this.emit({ atA: this.atA, atB: this.atB, after: this.last, removed: side(qa.splice(0, i)), added: side(qb.splice(0, j)) });
      this.atA += i;
      this.atB += j;
    }
  }
}
