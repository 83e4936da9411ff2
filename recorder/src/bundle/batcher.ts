/**
 * One ordered queue: items pushed synchronously are handed to `process` in batches, one batch at a time, in push
 * order. The first batch waits one macrotask so a burst of synchronous pushes (a runtime emitting many events in a
 * row) lands in a single write; everything pushed while a batch is processed forms the next batch. `process` may be
 * synchronous (exclusive writers: the whole drain happens in one callback, no await latency) or async (a lock).
 *
 * A runtime that never yields to the event loop (a chain of synchronous nodes resolves through promises only)
 * would otherwise grow one batch for the whole run, and a crash would lose all of it. So a batch is also bounded:
 * when what waits reaches `bound.bytes` or has waited `bound.ms`, the next push processes it at once — when
 * `process` is synchronous (`bound.sync`); an async one (a lock to take) cannot be run from a push.
 */
export interface BatchBound<T> {
  /**
   * Whether `process` is synchronous for every batch. A bounded batch is processed from inside `push`, which cannot
   * wait: a `process` that returns a promise there breaks this promise and fails the batcher.
   */
  sync: boolean;
  /** The weight of an item in bytes. */
  weigh: (item: T) => number;
  bytes: number;
  ms: number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

export class SerialBatcher<T> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private failure: Error | undefined;
  private pendingBytes = 0;
  private pendingSince = 0;
  private processing = false;

  constructor(
    private readonly process: (items: T[]) => void | Promise<void>,
    /** The first error, with the items pushed meanwhile that will never be processed (callers settle them). */
    private readonly onError: (error: Error, dropped: T[]) => void = () => {},
    private readonly bound?: BatchBound<T>,
  ) {}

  push(item: T): void {
    if (this.failure) return;
    const first = this.pending.length === 0;
    this.pending.push(item);
    this.running ??= this.drain();
    const bound = this.bound;
    if (bound === undefined || !bound.sync) return;
    // One clock reading per push: the first item's is its batch's start.
    const now = performance.now();
    if (first) this.pendingSince = now;
    if (this.processing) return;
    this.pendingBytes += bound.weigh(item);
    if (this.pendingBytes >= bound.bytes || now - this.pendingSince >= bound.ms) this.processNow();
  }

  get size(): number {
    return this.pending.length;
  }

  /** The first error a batch threw; once set, nothing more is processed. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Resolves when everything pushed so far has been processed; rejects with the first error. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure;
  }

  /**
   * What waits, taken out of the queue for a caller that processes it itself, now (a process that is exiting);
   * undefined while a batch is being processed or once the batcher failed. (An async batch handed to `process` and
   * not settled is the caller's to account for: it came before these.)
   */
  takeWaiting(): T[] | undefined {
    if (this.processing || this.failure) return undefined;
    return this.take();
  }

  /** Takes what waits as the next batch. */
  private take(): T[] {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return batch;
  }

  /**
   * Processes what waits, synchronously, from inside `push` (a bounded batch is full). Synchronous only: a promise
   * returned here could be neither awaited nor ordered before the next batch, so it fails the batcher (its own
   * rejection is taken care of, never left unhandled). The scheduled drain finds what is pushed after.
   */
  private processNow(): void {
    this.processing = true;
    try {
      const result = this.process(this.take());
      if (isThenable(result)) {
        result.then(undefined, () => {});
        throw new Error('SerialBatcher: a bounded synchronous batch returned a promise (its process must be synchronous)');
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.processing = false;
    }
  }

  private async drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.pending.length > 0) {
        this.processing = true;
        const result = this.process(this.take());
        this.processing = false;
        if (result) await result;
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.processing = false;
      this.running = undefined;
    }
  }

  /**
   * The first error stops the queue: items pushed while the failing batch was processed (e.g. awaiting the lock's
   * release) are never processed, and go to `onError` so their callers are settled.
   */
  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.onError(this.failure, this.take());
  }
}
