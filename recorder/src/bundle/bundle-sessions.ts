/**
 * The ACP sessions of one bundle: one SessionWriter per session, created on first use, and when their queued lines
 * are numbered and written. An exclusive writer flushes them itself (before each trace batch, and on the next
 * macrotask); in shared mode lines are numbered only under the bundle lock, so a flush goes through the trace queue.
 */
import type { BlobStore } from '@flowtape/schema';
import type { HeldTraffic } from './credentials.ts';
import { SessionWriter } from './session-writer.ts';

export interface BundleSessionsOptions {
  /** Another process may append to the bundle. */
  shared: boolean;
  redact: (text: string) => string;
  warn: (message: string) => void;
  storeBlob: BlobStore;
  /** Shared mode: runs `flush` inside a trace task, under the lock. */
  underLock: (flush: () => void) => Promise<void>;
  /** A flush under the lock failed: the bundle cannot be written any more. */
  fail: (error: unknown) => void;
}

export class BundleSessions {
  private readonly writers = new Map<string, SessionWriter>();
  private flushQueued = false;

  constructor(
    private readonly bundleDir: string,
    private readonly options: BundleSessionsOptions,
  ) {}

  get size(): number {
    return this.writers.size;
  }

  values(): IterableIterator<SessionWriter> {
    return this.writers.values();
  }

  /** The writer of `sessionId`, created (with its folder) on first use. */
  get(sessionId: string): SessionWriter {
    let session = this.writers.get(sessionId);
    if (!session) {
      const { shared, redact, warn, storeBlob } = this.options;
      session = new SessionWriter(this.bundleDir, sessionId, redact, warn, {
        shared,
        storeBlob,
        // Shared mode: session lines are numbered and written only inside a trace batch, under the lock.
        ...(shared ? { requestFlush: () => this.requestFlush() } : {}),
      });
      session.dirty = true;
      this.writers.set(sessionId, session);
    }
    return session;
  }

  /** Queues lines of traffic of one session. */
  traffic(sessionId: string, lines: readonly HeldTraffic[]): void {
    if (lines.length === 0) return;
    const session = this.get(sessionId);
    for (const line of lines) session.traffic(...line);
  }

  /** Numbers and writes every queued session line (inside a trace batch or task: under the lock in shared mode). */
  flush(): void {
    for (const session of this.writers.values()) session.flush();
  }

  /** The first write error of any session. */
  error(): Error | undefined {
    for (const session of this.writers.values()) if (session.error) return session.error;
    return undefined;
  }

  /** Shared mode: queued session lines are written by a trace task, under the lock (one task at a time). */
  private requestFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.options
      .underLock(() => {
        this.flushQueued = false;
        this.flush();
      })
      .catch((error: unknown) => {
        this.flushQueued = false;
        this.options.fail(error);
      });
  }
}
