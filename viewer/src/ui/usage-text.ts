// Usage as one line of text for the viewer. Totals come from the reducer (already checked); a turn's usage is
// read as it stands in the trace — before the worker has validated the trace, the viewer folds events as read —
// so it goes through addTurnUsage, which keeps only valid values: a malformed usage shows as nothing.
import { addTurnUsage, describeUsage, formatCost, formatCount, tokenTotal, type UsageTotals } from '@flowtape/schema';

/** `4,250 tokens (3,500 in, 750 out), 0.0211 USD · context 2,410 of 200,000 (1%)`, or undefined. */
export function usageText(usage: UsageTotals | undefined): string | undefined {
  const line = describeUsage(usage);
  const context = usage?.context;
  const window = context && context.size > 0
    ? `context ${formatCount(context.used)} of ${formatCount(context.size)} (${Math.round((context.used / context.size) * 100)}%)`
    : undefined;
  const parts = [line, window].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** The usage of one turn, from its raw payload, with only its valid values. */
export function turnUsage(raw: unknown): UsageTotals | undefined {
  return addTurnUsage(undefined, raw, true);
}

/** The short form a node card has room for: `1,840 tok · 0.0123 USD`, or undefined. */
export function usageBrief(usage: UsageTotals | undefined): string | undefined {
  if (!usage) return undefined;
  const total = tokenTotal(usage.tokens);
  const parts = [total !== undefined ? `${formatCount(total)} tok` : undefined, formatCost(usage.cost)].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}
