// Tokens, cost and context window as one line of text. Totals come from the reducer (already checked); a turn's
// usage is read as it stands in the trace, so it goes through addTurnUsage, which keeps only valid values: a
// malformed usage shows as nothing rather than as a crash or as agent-controlled markup.
import { addTurnUsage, describeUsage, formatCount, type UsageTotals } from '@flowtape/schema';
import { Shown } from './Shown.tsx';

export function usageText(usage: UsageTotals | undefined): string | undefined {
  const line = describeUsage(usage);
  const context = usage?.context;
  const window = context && context.size > 0
    ? `context ${formatCount(context.used)} of ${formatCount(context.size)} (${Math.round((context.used / context.size) * 100)}%)`
    : undefined;
  const parts = [line, window].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** A span with the usage line, or nothing when there is no valid usage to show. */
export function UsageLine({ usage, testId, className }: { usage: UsageTotals | undefined; testId: string; className?: string }) {
  const text = usageText(usage);
  if (!text) return null;
  return <span className={className ?? 'usage'} data-testid={testId}><Shown text={text} /></span>;
}

/** The usage of one turn, read defensively from the raw payload. */
export function turnUsage(raw: unknown): UsageTotals | undefined {
  return addTurnUsage(undefined, raw, true);
}
