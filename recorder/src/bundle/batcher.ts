/**
 * One ordered queue: items pushed synchronously are handed to `process` in batches, one batch at a time, in push
 * order. Everything pushed while a batch is being processed forms the next batch, so a busy writer makes few, large
 * writes and an idle one writes promptly. The first batch waits one macrotask so a burst of synchronous pushes
 * (a runtime emitting several events in a row) lands in a single write.
 */
export class SerialBatcher<T> {
  private pending: T[] = [];
  private running: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly process: (items: T[]) => Promise<void>,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  push(item: T): void {
    if (this.failure) return;
    this.pending.push(item);
    this.running ??= this.drain();
  }

  get size(): number {
    return this.pending.length;
  }

  /** The first error a batch threw; once set, nothing more is written. */
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
        await this.process(batch);
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.pending = [];
      this.onError(this.failure);
    } finally {
      this.running = undefined;
    }
  }
}
