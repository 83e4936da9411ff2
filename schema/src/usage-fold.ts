/**
 * Usage totals without zod: folding turns into totals (the reducer runs this for every turn it folds) and showing
 * them (CLI and viewer). Split from usage.ts, which builds the zod schemas, so the reducer and the viewer's first
 * screen load no schema code; usage.ts re-exports everything here, and the types come from its schemas.
 */
import type { ContextWindow, CostAmount, TokenCounts, UsageTotals } from './usage.ts';

export const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedReadTokens', 'cachedWriteTokens', 'thoughtTokens'] as const;
export type TokenField = (typeof TOKEN_FIELDS)[number];

/** Largest amount kept: beyond it a reported cost is treated as invalid (sums stay finite). */
export const MAX_COST_AMOUNT = 1e15;

// ---- folding (used by the reducer; pure) ----------------------------------------------------------------------

/** Adds a turn's usage into totals. Never throws, whatever the input: values that are not valid are skipped. */
export function addTurnUsage(totals: UsageTotals | undefined, usage: unknown, keepContext: boolean): UsageTotals | undefined {
  return addTotals(totals, turnTotals(usage), keepContext);
}

/**
 * One turn's usage as totals, keeping only valid values (context included); undefined when `usage` is not an
 * object. The reducer checks a turn once and adds the result to its attempt, node, session and run.
 */
export function turnTotals(usage: unknown): UsageTotals | undefined {
  if (!isRecord(usage)) return undefined;
  const turn: UsageTotals = { turns: 1 };
  const tokens = validTokens(usage['tokens']);
  if (tokens) turn.tokens = tokens;
  const cost = validCost(usage['cost']);
  if (cost) turn.cost = [cost];
  const context = validContext(usage['context']);
  if (context) turn.context = context;
  return turn;
}

/** Adds two totals (e.g. an attempt's into its node's). The later `context` wins when kept. */
export function addTotals(a: UsageTotals | undefined, b: UsageTotals | undefined, keepContext = false): UsageTotals | undefined {
  if (!b) return a;
  if (!a) return keepContext || b.context === undefined ? b : withoutContext(b);
  const sum: UsageTotals = { turns: saturatingAdd(a.turns, b.turns) };
  const tokens = addTokens(a.tokens, b.tokens);
  if (tokens) sum.tokens = tokens;
  const cost = addCosts(a.cost, b.cost);
  if (cost) sum.cost = cost;
  const context = keepContext ? (b.context ?? a.context) : undefined;
  if (context) sum.context = context;
  return sum;
}

function withoutContext(totals: UsageTotals): UsageTotals {
  const { context: _context, ...rest } = totals;
  return rest;
}

function addTokens(a: TokenCounts | undefined, b: TokenCounts | undefined): TokenCounts | undefined {
  if (!a) return b;
  if (!b) return a;
  // Field by field, in TOKEN_FIELDS' order: a loop over the names made every access a keyed one, and was the
  // reducer's costliest part on ACP-heavy traces (it runs four times per turn).
  const sum: TokenCounts = {};
  if (a.inputTokens !== undefined || b.inputTokens !== undefined) sum.inputTokens = sumOf(a.inputTokens, b.inputTokens);
  if (a.outputTokens !== undefined || b.outputTokens !== undefined) sum.outputTokens = sumOf(a.outputTokens, b.outputTokens);
  if (a.totalTokens !== undefined || b.totalTokens !== undefined) sum.totalTokens = sumOf(a.totalTokens, b.totalTokens);
  if (a.cachedReadTokens !== undefined || b.cachedReadTokens !== undefined) sum.cachedReadTokens = sumOf(a.cachedReadTokens, b.cachedReadTokens);
  if (a.cachedWriteTokens !== undefined || b.cachedWriteTokens !== undefined) sum.cachedWriteTokens = sumOf(a.cachedWriteTokens, b.cachedWriteTokens);
  if (a.thoughtTokens !== undefined || b.thoughtTokens !== undefined) sum.thoughtTokens = sumOf(a.thoughtTokens, b.thoughtTokens);
  return sum;
}

function sumOf(x: number | undefined, y: number | undefined): number {
  return saturatingAdd(x ?? 0, y ?? 0);
}

function addCosts(a: readonly CostAmount[] | undefined, b: readonly CostAmount[] | undefined): CostAmount[] | undefined {
  if (!a) return b ? [...b] : undefined;
  if (!b) return [...a];
  // The common case, one currency on both sides, without the map.
  if (a.length === 1 && b.length === 1 && a[0]!.currency === b[0]!.currency) {
    return [{ currency: a[0]!.currency, amount: roundCost(a[0]!.amount + b[0]!.amount) }];
  }
  const byCurrency = new Map<string, number>();
  for (const { currency, amount } of [...a, ...b]) byCurrency.set(currency, roundCost((byCurrency.get(currency) ?? 0) + amount));
  return [...byCurrency.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([currency, amount]) => ({ currency, amount }));
}

/** Counts never exceed what JavaScript represents exactly, so a hostile agent cannot turn a sum into Infinity. */
function saturatingAdd(x: number, y: number): number {
  return Math.min(x + y, Number.MAX_SAFE_INTEGER);
}

/** Sums of decimal amounts are rounded to 1e-9 so 0.1 + 0.2 shows as 0.3 (money never needs more). */
export function roundCost(amount: number): number {
  const rounded = Math.round(amount * 1e9) / 1e9;
  return Number.isFinite(rounded) ? rounded : amount;
}

function validTokens(value: unknown): TokenCounts | undefined {
  if (!isRecord(value)) return undefined;
  const tokens: TokenCounts = {};
  let any = false;
  for (const field of TOKEN_FIELDS) {
    const v = value[field];
    if (isCount(v)) {
      tokens[field] = v;
      any = true;
    }
  }
  return any ? tokens : undefined;
}

const CURRENCY = /^[A-Z][A-Z0-9]{1,9}$/;

/** The same rule as the CostAmount schema, checked by hand: this runs for every turn the reducer folds. */
export function validCost(value: unknown): CostAmount | undefined {
  if (!isRecord(value)) return undefined;
  const { amount, currency } = value;
  if (typeof amount !== 'number' || !(amount >= 0 && amount <= MAX_COST_AMOUNT)) return undefined;
  if (typeof currency !== 'string' || !CURRENCY.test(currency)) return undefined;
  return { amount, currency };
}

function validContext(value: unknown): ContextWindow | undefined {
  if (!isRecord(value) || !isCount(value['used']) || !isCount(value['size'])) return undefined;
  return { used: value['used'], size: value['size'] };
}

export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


// ---- showing totals (CLI and viewer; pure) --------------------------------------------------------------------

/** Total tokens: the reported total, or input + output when no total was reported. */
export function tokenTotal(tokens: TokenCounts | undefined): number | undefined {
  if (!tokens) return undefined;
  if (tokens.totalTokens !== undefined) return tokens.totalTokens;
  if (tokens.inputTokens === undefined && tokens.outputTokens === undefined) return undefined;
  return saturatingAdd(tokens.inputTokens ?? 0, tokens.outputTokens ?? 0);
}

/** `1234567` → `1,234,567` (the same on every machine, unlike toLocaleString). */
export function formatCount(value: number): string {
  return String(Math.trunc(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `0.0211 USD`; several currencies joined with ` + ` (never converted). */
export function formatCost(cost: readonly CostAmount[] | undefined): string | undefined {
  if (!cost || cost.length === 0) return undefined;
  return cost.map(({ amount, currency }) => `${formatAmount(amount)} ${currency}`).join(' + ');
}

function formatAmount(amount: number): string {
  if (amount === 0) return '0';
  if (amount >= 1) return amount.toFixed(2);
  // Small amounts keep four significant digits: 0.0211, 0.000125.
  return amount.toFixed(Math.min(12, Math.max(2, 3 - Math.floor(Math.log10(amount))))).replace(/0+$/, '').replace(/\.$/, '');
}

/** One line for totals: `4,250 tokens (3,500 in, 750 out), 0.0211 USD`; undefined when there is nothing to show. */
export function describeUsage(usage: UsageTotals | undefined): string | undefined {
  if (!usage) return undefined;
  const parts: string[] = [];
  const total = tokenTotal(usage.tokens);
  if (total !== undefined) {
    const detail = [
      usage.tokens?.inputTokens !== undefined ? `${formatCount(usage.tokens.inputTokens)} in` : undefined,
      usage.tokens?.outputTokens !== undefined ? `${formatCount(usage.tokens.outputTokens)} out` : undefined,
      usage.tokens?.cachedReadTokens !== undefined ? `${formatCount(usage.tokens.cachedReadTokens)} cached` : undefined,
    ].filter((p) => p !== undefined);
    parts.push(`${formatCount(total)} tokens${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`);
  }
  const cost = formatCost(usage.cost);
  if (cost) parts.push(cost);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
