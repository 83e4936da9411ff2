// Tokens, cost and context window as one line (usage-text.ts), shown as text.
import type { UsageTotals } from '@flowtape/schema';
import { Shown } from './Shown.tsx';
import { usageText } from './usage-text.ts';

export { turnUsage } from './usage-text.ts';

/** A span with the usage line, or nothing when there is no valid usage to show. */
export function UsageLine({ usage, testId, className }: { usage: UsageTotals | undefined; testId: string; className?: string }) {
  const text = usageText(usage);
  if (!text) return null;
  return <span className={className ?? 'usage'} data-testid={testId}><Shown text={text} /></span>;
}
