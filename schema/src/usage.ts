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
import {
  MAX_COST_AMOUNT,
  TOKEN_FIELDS,
  isCount,
  isRecord,
  roundCost,
  validCost,
  type TokenField,
} from './usage-fold.ts';

// The folding and showing of totals live in usage-fold.ts (no zod, for the reducer and the viewer's first screen).
export {
  MAX_COST_AMOUNT,
  TOKEN_FIELDS,
  addTotals,
  addTurnUsage,
  describeUsage,
  formatCost,
  formatCount,
  roundCost,
  tokenTotal,
  turnTotals,
  type TokenField,
} from './usage-fold.ts';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

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
