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
  /** Whether `process` is synchronous for every batch. */
  sync: boolean;
  /** The weight of an item in bytes. */
  weigh: (item: T) => number;
  bytes: number;
  ms: number;
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
    if (this.pending.length === 0) this.pendingSince = performance.now();
    this.pending.push(item);
    this.running ??= this.drain();
    const bound = this.bound;
    if (bound === undefined || !bound.sync || this.processing) return;
    this.pendingBytes += bound.weigh(item);
    if (this.pendingBytes >= bound.bytes || performance.now() - this.pendingSince >= bound.ms) this.processNow();
  }

  /** Processes what waits, synchronously (a bounded batch is full). The scheduled drain finds what is pushed after. */
  private processNow(): void {
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.processing = true;
    try {
      void this.process(batch);
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      const dropped = this.pending;
      this.pending = [];
      this.onError(this.failure, dropped);
    } finally {
      this.processing = false;
    }
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

  private async drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        this.pendingBytes = 0;
        this.processing = true;
        const result = this.process(batch);
        this.processing = false;
        if (result) await result;
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      // Items pushed while the failing batch was processed (e.g. awaiting the lock's release) are never processed.
      const dropped = this.pending;
      this.pending = [];
      this.onError(this.failure, dropped);
    } finally {
      this.processing = false;
      this.running = undefined;
    }
  }
}
