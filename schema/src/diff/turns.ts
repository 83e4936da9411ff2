/**
 * A session's conversation as turns, and the turns of two runs aligned: the one alignment `flowtape diff` reports
 * and the viewer's compare page draws, so the two can never pair turns differently.
 *
 * A turn starts at each user message (its prompt) and holds what follows up to the next one. Turns are paired by
 * their prompt as the diff compares it (normalised): the longest common subsequence of prompts is paired, what lies
 * between two paired turns is paired in order (a reworded prompt is one changed turn), and the rest stands alone. So
 * a turn one run inserted is one added turn, and every turn after it stays paired with its own.
 *
 * Pure and browser-safe.
 */
/** One row of an alignment: an item of a, of b, or of both (indexes into the two lists). */
export interface Aligned {
  a?: number;
  b?: number;
}

/** Past this many table cells (the unmatched middle of a × of b), the middle is paired in order instead. */
const MAX_CELLS = 1 << 22;

/**
 * Aligns two lists by their keys: the longest common subsequence of keys is paired, what lies between two paired
 * items is paired in order, the rest left on one side. The common head and tail are paired first, so two runs that
 * differ in a few turns cost a table of those few; an O(n·m) table over a middle of more than {@link MAX_CELLS}
 * cells (thousands of turns differing on both sides) is not built, and that middle is paired in order.
 */
export function alignByKey(ka: readonly string[], kb: readonly string[]): Aligned[] {
  let head = 0;
  while (head < ka.length && head < kb.length && ka[head] === kb[head]) head++;
  let tail = 0;
  while (tail < ka.length - head && tail < kb.length - head && ka[ka.length - 1 - tail] === kb[kb.length - 1 - tail]) tail++;
  const n = ka.length - head - tail;
  const m = kb.length - head - tail;
  const out: Aligned[] = [];
  for (let k = 0; k < head; k++) out.push({ a: k, b: k });
  let gapA: number[] = [];
  let gapB: number[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(gapA.length, gapB.length); k++) out.push({ ...(k < gapA.length ? { a: gapA[k] } : {}), ...(k < gapB.length ? { b: gapB[k] } : {}) });
    gapA = [];
    gapB = [];
  };
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    for (let k = 0; k < n; k++) gapA.push(head + k);
    for (let k = 0; k < m; k++) gapB.push(head + k);
  } else {
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    const same = (i: number, j: number) => ka[head + i] === kb[head + j];
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) lcs[i]![j] = same(i, j) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && same(i, j)) {
        flush();
        out.push({ a: head + i++, b: head + j++ });
      } else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        gapA.push(head + i++);
      } else {
        gapB.push(head + j++);
      }
    }
  }
  flush();
  for (let k = 0; k < tail; k++) out.push({ a: ka.length - tail + k, b: kb.length - tail + k });
  return out;
}

/** What a turn needs of a conversation entry. */
export interface TurnEntry {
  role: string;
  text?: unknown;
  attemptId?: string;
}

/** A conversation split into turns: a turn starts at each user message (what comes before the first is a turn too). */
export function splitTurns<E extends TurnEntry>(messages: readonly E[]): E[][] {
  const turns: E[][] = [];
  for (const entry of messages) {
    if (entry.role === 'user' || turns.length === 0) turns.push([]);
    turns.at(-1)!.push(entry);
  }
  return turns;
}

/** The prompt that opens a turn, or undefined for what comes before the first prompt. */
export function turnPrompt(turn: readonly TurnEntry[]): unknown {
  const first = turn[0];
  return first?.role === 'user' ? first.text : undefined;
}

/** Two runs' turns aligned by prompt, each prompt as the diff compares it (`normalize`, per side). */
export function alignTurns<E extends TurnEntry>(
  turnsA: readonly (readonly E[])[],
  turnsB: readonly (readonly E[])[],
  normalize: { a: (value: unknown) => unknown; b: (value: unknown) => unknown } = { a: (v) => v, b: (v) => v },
): Aligned[] {
  const key = (turn: readonly E[], n: (value: unknown) => unknown) => {
    const prompt = turnPrompt(turn);
    return prompt === undefined ? '' : JSON.stringify(n(prompt));
  };
  return alignByKey(turnsA.map((t) => key(t, normalize.a)), turnsB.map((t) => key(t, normalize.b)));
}

/**
 * Where the diff reports a turn of a session (`base`: `/sessions/<key>`): `<base>/turns/<n>`, `n` counted from 0 in
 * a for a turn a has (paired or removed); `<base>/turns/b<n>`, counted in b, for a turn only b has (added), so no
 * pointer names two turns (an `--ignore` of one never hides the other). Its entries are `…/messages/<i>`, paired in
 * order within the turn.
 */
export function turnPointer(base: string, pair: Aligned): string {
  return pair.a !== undefined ? `${base}/turns/${pair.a}` : `${base}/turns/b${pair.b!}`;
}

/** Where a paired turn stands in each run, for people (1-based), when the two differ: `turn 3 in a, 4 in b`. */
export function turnNote(pair: Aligned): string | undefined {
  if (pair.a === undefined || pair.b === undefined) return `turn ${(pair.a ?? pair.b)! + 1} in ${pair.a === undefined ? 'b' : 'a'}`;
  return pair.a === pair.b ? undefined : `turn ${pair.a + 1} in a, ${pair.b + 1} in b`;
}
