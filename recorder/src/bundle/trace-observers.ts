/** The consumers of committed trace events (live OpenTelemetry export): a failing one is a warning, never a failure. */
import type { TraceEvent } from '@flowtape/schema';
import type { TraceObserver } from './recorder-api.ts';

/** Hands the events just committed to every observer. */
export function notifyObservers(observers: readonly TraceObserver[], committed: readonly { readonly event: unknown }[], warn: (message: string) => void): void {
  const events = committed.map((item) => item.event as TraceEvent);
  for (const observer of observers) {
    try {
      observer.onCommitted(events);
    } catch (error) {
      warn(`trace observer failed: ${(error as Error).message ?? String(error)}`);
    }
  }
}

/** Lets every observer finish (bounded by each); what they report becomes warnings. */
export async function closeObservers(observers: readonly TraceObserver[], warn: (message: string) => void): Promise<void> {
  for (const observer of observers) {
    try {
      for (const warning of await observer.close()) warn(warning);
    } catch (error) {
      warn(`trace observer failed: ${(error as Error).message ?? String(error)}`);
    }
  }
}
