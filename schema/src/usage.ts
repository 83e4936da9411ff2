/**
 * Usage and cost: what agents report about tokens, their context window and money, per turn in the trace and
 * folded into totals in the projections (see SPEC.md, "Usage and cost").
 *
 * ACP has two sources. The `session/prompt` answer may carry `usage` (input/output/total tokens, cached and
 * thought tokens): the tokens of that turn. `usage_update` session notifications report the session's state:
 * `used`/`size` of the context window (a snapshot) and `cost` (the session's cumulative cost, a running total).
 * Agents are free to send anything, so every value is checked here and only valid ones are typed; the raw
 * message stays in the session's events.ndjson.
 */
import { z } from 'zod';
import { JsonValue } from './common.ts';

/** A token count: a non-negative integer JavaScript represents exactly. */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'totalTokens', 'cachedReadTokens', 'cachedWriteTokens', 'thoughtTokens'] as const;
export type TokenField = (typeof TOKEN_FIELDS)[number];

export const TokenCounts = z
  .object({
    inputTokens: count.optional(),
    outputTokens: count.optional(),
    totalTokens: count.optional(),
    cachedReadTokens: count.optional(),
    cachedWriteTokens: count.optional(),
    thoughtTokens: count.optional(),
  })
  .describe('Token counts as the agent reported them (ACP `Usage`); a count it did not report is absent, not 0.');
export type TokenCounts = z.infer<typeof TokenCounts>;

/** Largest amount kept: beyond it a reported cost is treated as invalid (sums stay finite). */
export const MAX_COST_AMOUNT = 1e15;

export const CostAmount = z
  .object({
    amount: z.number().nonnegative().max(MAX_COST_AMOUNT),
    currency: z.string().regex(/^[A-Z][A-Z0-9]{1,9}$/).describe('ISO 4217 code such as `USD`, upper-cased.'), // = CURRENCY
  })
  .describe('An amount of money in one currency.');
export type CostAmount = z.infer<typeof CostAmount>;

export const ContextWindow = z
  .object({ used: count.describe('Tokens in the context.'), size: count.describe('Size of the context window in tokens.') })
  .describe('The context window as last reported by `usage_update`.');
export type ContextWindow = z.infer<typeof ContextWindow>;

export const TurnUsage = z
  .object({
    tokens: TokenCounts.optional().describe("This turn's tokens: the `usage` of the `session/prompt` answer."),
    context: ContextWindow.optional().describe('The last `used`/`size` reported up to the end of this turn.'),
    cost: CostAmount.optional().describe(
      "This turn's share of the session's cost: the reported cumulative cost minus what earlier turns of the session (and updates before its first turn) already accounted for.",
    ),
    sessionCost: CostAmount.optional().describe("The session's cumulative cost as last reported (`usage_update.cost`)."),
    updates: z.number().int().nonnegative().optional().describe('How many `usage_update` notifications arrived during the turn.'),
    extra: z
      .record(z.string(), JsonValue)
      .optional()
      .describe('Fields of the reported usage flowtape does not know (kept, not interpreted; `_meta` left out).'),
    dropped: z
      .array(z.string())
      .optional()
      .describe('Reported fields left out because their value was not valid (a string, negative, too large); the raw message is in events.ndjson.'),
  })
  .describe('Usage reported by the agent for one turn.');
export type TurnUsage = z.infer<typeof TurnUsage>;

export const UsageTotals = z
  .object({
    turns: z.number().int().positive().describe("Turns that reported usage (a session's late report, `session.usage`, counts as one)."),
    tokens: TokenCounts.optional().describe('Per field, the sum over the turns that reported it.'),
    cost: z
      .array(CostAmount)
      .optional()
      .describe('Sum of the turns\' cost shares, one entry per currency (never converted or added across currencies), sorted by currency.'),
    context: ContextWindow.optional().describe('The latest context window reported (attempts and sessions only).'),
  })
  .describe('Usage folded over turns.');
export type UsageTotals = z.infer<typeof UsageTotals>;

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
function validCost(value: unknown): CostAmount | undefined {
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

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- reading what an agent sent (used by the runtime; pure) ---------------------------------------------------

const EXTRA_MAX_CHARS = 4096;

/** What one turn's usage looks like while it is being collected from the wire. */
export interface UsageReport {
  tokens?: TokenCounts;
  context?: ContextWindow;
  /** The session's cumulative cost from the latest `usage_update` that carried a valid one. */
  sessionCost?: CostAmount;
  updates: number;
  extra: Record<string, JsonValue>;
  dropped: Set<string>;
}

export function emptyUsageReport(): UsageReport {
  return { updates: 0, extra: {}, dropped: new Set() };
}

/**
 * Folds one `usage_update` (the `update` object of the notification) into a report: `used`/`size` replace the
 * context window, a valid `cost` replaces the cumulative cost (ACP: omitted leaves it unchanged).
 */
export function readUsageUpdate(report: UsageReport, update: Record<string, unknown>): void {
  report.updates++;
  const { sessionUpdate: _kind, used, size, cost, _meta, ...rest } = update;
  if (isCount(used) && isCount(size)) report.context = { used, size };
  else {
    if (!isCount(used)) report.dropped.add('used');
    if (!isCount(size)) report.dropped.add('size');
  }
  if (cost !== undefined && cost !== null) {
    const parsed = readCost(cost);
    if (parsed) report.sessionCost = parsed;
    else report.dropped.add('cost');
  }
  keepExtra(report, rest);
}

/** Reads the `usage` of a `session/prompt` answer into a report (the turn's tokens). */
export function readPromptUsage(report: UsageReport, usage: unknown): void {
  if (usage === undefined || usage === null) return;
  if (!isRecord(usage)) {
    report.dropped.add('usage');
    return;
  }
  const tokens: TokenCounts = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(usage)) {
    if (key === '_meta') continue;
    if ((TOKEN_FIELDS as readonly string[]).includes(key)) {
      if (isCount(value)) tokens[key as TokenField] = value;
      else if (value !== null) report.dropped.add(key);
    } else rest[key] = value;
  }
  if (Object.keys(tokens).length > 0) report.tokens = tokens;
  keepExtra(report, rest);
}

/** A reported cost, upper-casing the currency; undefined when not valid. */
function readCost(value: unknown): CostAmount | undefined {
  if (!isRecord(value) || typeof value['currency'] !== 'string') return undefined;
  return validCost({ amount: value['amount'], currency: value['currency'].trim().toUpperCase() });
}

function keepExtra(report: UsageReport, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) {
    const json = JsonValue.safeParse(value);
    if (json.success) report.extra[key] = json.data;
  }
}

/**
 * The trace payload for one turn. `accounted` is the session's cost already attributed (to earlier turns, or
 * reported before the session's first turn); the turn's share is what the cumulative cost grew by since. When
 * the currency changed or the total went down (the agent reset it), the whole reported amount is this turn's.
 */
export function toTurnUsage(report: UsageReport, accounted: CostAmount | undefined): TurnUsage | undefined {
  const usage: TurnUsage = {};
  if (report.tokens) usage.tokens = report.tokens;
  if (report.context) usage.context = report.context;
  const total = report.sessionCost;
  if (total) {
    const before = accounted && accounted.currency === total.currency && accounted.amount <= total.amount ? accounted.amount : 0;
    usage.cost = { amount: roundCost(total.amount - before), currency: total.currency };
    usage.sessionCost = total;
  }
  if (report.updates > 0) usage.updates = report.updates;
  if (Object.keys(report.extra).length > 0) {
    if (JSON.stringify(report.extra).length <= EXTRA_MAX_CHARS) usage.extra = report.extra;
    else report.dropped.add('extra');
  }
  if (report.dropped.size > 0) usage.dropped = [...report.dropped].sort();
  return Object.keys(usage).length > 0 ? usage : undefined;
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
