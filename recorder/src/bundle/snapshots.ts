/**
 * Snapshots: the projections, the session records and the manifest, written from a state whose lines are all on disk
 * (temporary file + rename, SPEC writing discipline rules 2 and 4), and the throttle that keeps periodic ones cheap.
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BUNDLE_FILES, toLiveProjection, toRunProjection, toStepsProjection, type Manifest, type ProjectionState } from '@flowtape/schema';
import type { BundleSessions } from './bundle-sessions.ts';
import type { CheckedPaths } from './confine.ts';
import { stageFileSync, syncPath, type StagedFile } from './fsio.ts';
import { O_NOFOLLOW } from './confine.ts';
import { writeJsonChunks, type ChunkLayout, type PreviousVersion } from './json-chunks.ts';

/**
 * A throttled snapshot waits at least this many times what it is expected to cost: a snapshot grows with the run
 * (steps.json lists every attempt), so on a long run they take at most 1/(1+factor) of the time whatever its length.
 */
const SNAPSHOT_COST_FACTOR = 20;
/**
 * A snapshot's expected cost is the last one's, grown in proportion to the lines since (its size follows the trace's)
 * once the last one reflected at least this many lines; below that, its fixed part (a few files created and renamed)
 * dominates and the last cost stands. Waiting 20× the last cost alone let a snapshot 5× larger than the last start
 * at any time: at 100,000 nodes one at 90 % of the run cost a quarter of the run, just before the final one.
 */
const GROWS_FROM_SEQ = 4096;
/**
 * …grown at most this many times: a cost measured badly (a garbage collection of a 1 GB heap during a small snapshot
 * took 200 ms for 8,000 lines) would otherwise be extrapolated to the whole run and hold every later snapshot back.
 */
const MAX_GROWTH = 4;

/**
 * Whether a periodic snapshot is due at `seq`, `elapsedMs` after the last one ended (or the writer started), when
 * the last one cost `last.cost` ms and reflected `last.seq` lines.
 */
export function snapshotDue(elapsedMs: number, intervalMs: number, last: { cost: number; seq: number }, seq: number): boolean {
  const growth = Math.min(MAX_GROWTH, Math.max(1, seq / Math.max(last.seq, GROWS_FROM_SEQ)));
  return elapsedMs >= Math.max(intervalMs, SNAPSHOT_COST_FACTOR * last.cost * growth);
}
/** Goldens (deterministic bundles) up to this many attempts are indented: they are read and diffed by people. */
const INDENTED_UP_TO = 1000;

export interface SnapshotSource {
  readonly bundleDir: string;
  readonly deterministic: boolean;
  /** Another process may write this bundle's files too (then no snapshot copies from the last one). */
  readonly shared: boolean;
  readonly sessions: BundleSessions;
  /** The time of the last event (a session record's `updatedAt`). */
  readonly lastAt: string;
  /** The bundle paths this writer checked or made (confine.ts). */
  readonly checked: CheckedPaths;
  manifest(state: ProjectionState, complete: boolean): Manifest;
}

/** How snapshots are queued: after the lines queued before them (the trace writer's tasks), failures to the writer. */
export interface SnapshotQueue {
  task(fn: (state: ProjectionState) => void): Promise<void>;
  fail(error: unknown): void;
}

/** Why a snapshot is taken: the run waits, resumes or ends (`forced`), or one is due (`periodic`). */
export type SnapshotKind = 'forced' | 'periodic';

export class Snapshots {
  /** The first throttled snapshot comes one interval after the start. */
  private lastAt = performance.now();
  private lastCost = 0;
  /** The seq the last snapshot reflected. */
  private lastSeq = 0;
  /** Forced snapshots queued and not written yet: a periodic one queued before them is not written either. */
  private forcedQueued = 0;
  /** The trace's background fsync (see write), while one runs. */
  private traceSync: Promise<void> | undefined;
  /** The first error of a background fsync: reported at close (a later fsync may not report it again). */
  private traceSyncError: unknown;
  /** A snapshot is queued and not written yet. */
  private queued = false;
  /** close() writes the final snapshot: queued ones are skipped. */
  private closing = false;
  /**
   * The projection files this writer wrote last: which file (device, inode, size, time) and its layout. The next
   * snapshot copies from it what did not change (json-chunks.ts), if the path still names that very file: only an
   * exclusive writer, the one writer of its projections (another's file could reuse a freed inode).
   */
  private readonly versions = new Map<string, { layout: ChunkLayout; file: Stats }>();

  constructor(
    private readonly source: SnapshotSource,
    private readonly queue: SnapshotQueue,
    private readonly intervalMs: number,
  ) {}

  /** After each batch of trace lines: a periodic snapshot, when one is due. */
  onCommit(lastSeq: number): void {
    // A forced snapshot queued already reflects these lines (they were queued before it).
    if (this.queued || this.forcedQueued > 0 || lastSeq === 0) return;
    if (snapshotDue(performance.now() - this.lastAt, this.intervalMs, { cost: this.lastCost, seq: this.lastSeq }, lastSeq)) this.schedule('periodic');
  }

  /**
   * Queues a snapshot behind the lines queued so far. `forced`: the run waits, resumes or ends (always written);
   * `periodic`: coalesced with one already queued (a queued periodic snapshot may sit before the event that forces
   * one, so only periodic ones coalesce).
   */
  schedule(kind: SnapshotKind): void {
    if (this.queued && kind === 'periodic') return;
    this.queued = true;
    if (kind === 'forced') this.forcedQueued++;
    this.queue
      .task((state) => {
        this.queued = false;
        if (kind === 'forced') this.forcedQueued--;
        // close() writes the final snapshot right after, or a forced one (the run ended or waits) is queued behind
        // this periodic one, with more lines: no need for this one. (The run may have ended while it waited: a
        // runtime that never yields queues the rest of its events and its end before the batch holding it runs.)
        else if (this.forcedQueued > 0) return;
        if (!this.closing) this.write(state, false);
      })
      .catch((error: unknown) => {
        this.queue.fail(error);
      });
  }

  /**
   * The seq the last snapshot reflected (0 before the first). Each snapshot starts a background fsync of the trace
   * unless one still runs, so the lines up to it are usually fsynced or being fsynced: close uses it only to choose
   * when to start the trace's fsync (complete.ts), never to decide what is durable.
   */
  get reflectedSeq(): number {
    return this.lastSeq;
  }

  /** From now on only the final snapshot is written. */
  close(): void {
    this.closing = true;
  }

  /**
   * Writes the snapshot of `state`. The final snapshot leaves the manifest out (close writes it last, once everything
   * else is durable), writes every session's record, and returns the descriptors of the files it wrote, renamed into
   * place but still open, for close to fsync (and close).
   */
  write(state: ProjectionState, final: boolean): number[] {
    if (state.seq === 0) return [];
    const { bundleDir, sessions, checked } = this.source;
    const started = performance.now();
    // Other runs: compact, half the bytes to write and fsync, and serialized in chunks.
    const indent = this.source.deterministic && state.steps.size <= INDENTED_UP_TO ? 2 : undefined;
    const kept: number[] = [];
    const write = (path: string, value: object) => {
      const previous = indent === undefined ? this.openVersion(path) : undefined;
      let layout: ChunkLayout | undefined;
      let staged: StagedFile;
      try {
        staged = stageFileSync(
          bundleDir,
          path,
          (chunk) => (indent === undefined ? (layout = writeJsonChunks(value, chunk, previous)) : chunk(`${JSON.stringify(value, null, indent)}\n`)),
          checked,
        );
      } finally {
        if (previous) closeSync(previous.fd);
      }
      this.versions.delete(path);
      const written = layout !== undefined && layout.size > 0 && !final && !this.source.shared ? fstatSync(staged.fd) : undefined;
      try {
        staged.commit(final);
      } catch (error) {
        staged.discard();
        throw error;
      }
      if (final) kept.push(staged.fd);
      if (written !== undefined) this.versions.set(path, { layout: layout!, file: written });
    };
    try {
      for (const session of sessions.values()) {
        if (!session.dirty && !final) continue;
        session.dirty = false;
        session.flush(); // the record never runs ahead of events.ndjson
        write(session.files.record, session.snapshot(this.source.lastAt));
      }
      write(BUNDLE_FILES.run, toRunProjection(state));
      write(BUNDLE_FILES.live, toLiveProjection(state));
      write(BUNDLE_FILES.steps, toStepsProjection(state));
      if (!final) {
        write(BUNDLE_FILES.manifest, this.source.manifest(state, false));
        this.syncTrace();
      }
    } catch (error) {
      for (const fd of kept) closeSync(fd);
      throw error;
    }
    this.lastAt = performance.now();
    this.lastCost = this.lastAt - started;
    this.lastSeq = state.seq;
    return kept;
  }

  /** The file this writer wrote last at `path`, open for reading, if the path still names it; the caller closes it. */
  private openVersion(path: string): PreviousVersion | undefined {
    const version = this.versions.get(path);
    if (version === undefined) return undefined;
    let fd: number;
    try {
      fd = openSync(join(this.source.bundleDir, path), constants.O_RDONLY | O_NOFOLLOW);
    } catch {
      return undefined;
    }
    const opened = fstatSync(fd);
    const { file } = version;
    if (opened.ino !== file.ino || opened.dev !== file.dev || opened.size !== file.size || opened.mtimeMs !== file.mtimeMs) {
      closeSync(fd);
      return undefined;
    }
    return { layout: version.layout, fd };
  }

  /**
   * A periodic snapshot also starts an fsync of the trace, in the thread pool (one at a time): the lines written so
   * far reach the disk while the run goes on, so the fsync at close has only the lines since the last snapshot to
   * write (a million-node trace is hundreds of MiB), and a crash of the machine loses less.
   */
  private syncTrace(): void {
    if (this.traceSync) return;
    this.traceSync = syncPath(join(this.source.bundleDir, BUNDLE_FILES.trace))
      .catch((error: unknown) => {
        this.traceSyncError ??= error;
      })
      .finally(() => {
        this.traceSync = undefined;
      });
  }

  /** Waits for a background fsync of the trace; rejects with the first error one had. */
  async settled(): Promise<void> {
    await this.traceSync;
    if (this.traceSyncError !== undefined) throw this.traceSyncError;
  }
}
