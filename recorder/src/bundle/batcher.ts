/**
 * One ordered queue: items pushed synchronously are handed to `process` in batches, one batch at a time, in push
 * order. The first batch waits one macrotask so a burst of synchronous pushes (a runtime emitting many events in a
 * row) lands in a single write; everything pushed while a batch is processed forms the next batch. `process` may be
 * synchronous (exclusive writers: the whole drain happens in one callback, no await latency) or async (a lock).
 */
export class SerialBatcher<T> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly process: (items: T[]) => void | Promise<void>,
    /** The first error, with the items pushed meanwhile that will never be processed (callers settle them). */
    private readonly onError: (error: Error, dropped: T[]) => void = () => {},
  ) {}

  push(item: T): void {
    if (this.failure) return;
    this.pending.push(item);
    this.running ??= this.drain();
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
        const result = this.process(batch);
        if (result) await result;
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      // Items pushed while the failing batch was processed (e.g. awaiting the lock's release) are never processed.
      const dropped = this.pending;
      this.pending = [];
      this.onError(this.failure, dropped);
    } finally {
      this.running = undefined;
    }
  }
}
