/** Progress lines on stderr while a flow runs: one when a node starts, one with its outcome. */
import type { LifecycleEvent, LifecycleObserver } from '../runtime/index.ts';

export function progressObserver(write: (text: string) => void): LifecycleObserver {
  const types = new Map<string, string>();
  return {
    onEvent(event: LifecycleEvent) {
      switch (event.type) {
        case 'node.started':
          types.set(event.attemptId, event.nodeType);
          write(`  ▸ ${event.attemptId} (${event.nodeType})\n`);
          return;
        case 'node.outcome': {
          const mark = event.outcome === 'ok' ? '✓' : '✗';
          const why = event.error ? `: ${event.error.message}` : '';
          write(`  ${mark} ${event.attemptId} ${event.outcome.replace('_', ' ')} in ${Math.round(event.durationMs)} ms${why}\n`);
          types.delete(event.attemptId);
          return;
        }
        case 'edge.taken':
          if (event.branch) write(`    → ${event.to} (${event.branch.on} = ${JSON.stringify(event.branch.value)})\n`);
          return;
        default:
          return;
      }
    },
  };
}

/**
 * Progress for a long read (verify, diff): silent for the first second, then a line at most once a second, so a
 * quick command prints nothing and a long one shows it is alive.
 */
export function readProgress(write: (text: string) => void, what: (events: number) => string): (events: number) => void {
  const started = performance.now();
  let shown = started;
  return (events: number) => {
    const now = performance.now();
    if (now - started < 1000 || now - shown < 1000) return;
    shown = now;
    write(`flowtape: ${what(events)}\n`);
  };
}
