// Small promise helpers of the ACP client: settled results, delays, and interruption by an abort signal or a time limit.

export type Settled<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown };

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Waits for `promise` (which must not reject), at most `ms`. The timer is cleared either way: none is left to fire
 * later, and it never keeps the process alive.
 */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
  } finally {
    clearTimeout(timer);
  }
}

export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then((value) => ({ kind: 'value', value }), (error: unknown) => ({ kind: 'error', error }));
}

/** A promise that resolves when `signal` aborts or `ms` pass; dispose() removes the listener and timer. */
export function interruption(signal: AbortSignal | undefined, ms: number | undefined): {
  promise: Promise<{ kind: 'aborted' | 'timeout' }>;
  dispose(): void;
} {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<{ kind: 'aborted' | 'timeout' }>((resolve) => {
    if (ms !== undefined) timer = setTimeout(() => resolve({ kind: 'timeout' }), ms);
    if (signal) {
      onAbort = () => resolve({ kind: 'aborted' });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return {
    promise,
    dispose() {
      if (timer) clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    },
  };
}
