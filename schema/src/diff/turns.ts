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

/**
 * Aligns two lists by their keys: the longest common subsequence of keys is paired, what lies between two paired
 * items is paired in order, the rest left on one side. Plain O(n·m) table: conversations have tens of turns, not
 * thousands.
 */
export function alignByKey(ka: readonly string[], kb: readonly string[]): Aligned[] {
  const n = ka.length;
  const m = kb.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = ka[i] === kb[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: Aligned[] = [];
  let i = 0;
  let j = 0;
  let gapA: number[] = [];
  let gapB: number[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(gapA.length, gapB.length); k++) out.push({ ...(k < gapA.length ? { a: gapA[k] } : {}), ...(k < gapB.length ? { b: gapB[k] } : {}) });
    gapA = [];
    gapB = [];
  };
  while (i < n || j < m) {
    if (i < n && j < m && ka[i] === kb[j]) {
      flush();
      out.push({ a: i++, b: j++ });
    } else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      gapA.push(i++);
    } else {
      gapB.push(j++);
    }
  }
  flush();
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
 * a for a turn a has (paired or removed), in b for a turn only b has (added). Its entries are `…/messages/<i>`,
 * paired in order within the turn.
 */
export function turnPointer(base: string, pair: Aligned): string {
  return `${base}/turns/${pair.a ?? pair.b!}`;
}

/** Where a paired turn stands in each run, for people (1-based), when the two differ: `turn 3 in a, 4 in b`. */
export function turnNote(pair: Aligned): string | undefined {
  if (pair.a === undefined || pair.b === undefined) return `turn ${(pair.a ?? pair.b)! + 1} in ${pair.a === undefined ? 'b' : 'a'}`;
  return pair.a === pair.b ? undefined : `turn ${pair.a + 1} in a, ${pair.b + 1} in b`;
}
