/**
 * Snapshots: the projections, the session records and the manifest, written from a state whose lines are all on disk
 * (temporary file + rename, SPEC writing discipline rules 2 and 4), and the throttle that keeps periodic ones cheap.
 */
import { closeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BUNDLE_FILES, toLiveProjection, toRunProjection, toStepsProjection, type Manifest, type ProjectionState } from '@flowtape/schema';
import type { BundleSessions } from './bundle-sessions.ts';
import type { CheckedPaths } from './confine.ts';
import { stageFileSync } from './fsio.ts';
import { writeJsonChunks } from './json-chunks.ts';

/**
 * A throttled snapshot waits at least this many times what the last one cost: a snapshot grows with the run (steps.json
 * lists every attempt), so on a long run they take at most 1/(1+factor) of the time whatever its length.
 */
const SNAPSHOT_COST_FACTOR = 20;
/** Goldens (deterministic bundles) up to this many attempts are indented: they are read and diffed by people. */
const INDENTED_UP_TO = 1000;

export interface SnapshotSource {
  readonly bundleDir: string;
  readonly deterministic: boolean;
  readonly sessions: BundleSessions;
  /** The time of the last event (a session record's `updatedAt`). */
  readonly lastAt: string;
  /** The bundle paths this writer checked or made (confine.ts). */
  readonly checked: CheckedPaths;
  manifest(state: ProjectionState, complete: boolean): Manifest;
}

export class Snapshots {
  /** The first throttled snapshot comes one interval after the start. */
  private lastAt = performance.now();
  private lastCost = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly intervalMs: number,
  ) {}

  /** Whether a periodic snapshot is due. */
  due(): boolean {
    return performance.now() - this.lastAt >= Math.max(this.intervalMs, SNAPSHOT_COST_FACTOR * this.lastCost);
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
      const staged = stageFileSync(
        bundleDir,
        path,
        (chunk) => (indent === undefined ? writeJsonChunks(value, chunk) : chunk(`${JSON.stringify(value, null, indent)}\n`)),
        checked,
      );
      try {
        staged.commit(final);
      } catch (error) {
        staged.discard();
        throw error;
      }
      if (final) kept.push(staged.fd);
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
      if (!final) write(BUNDLE_FILES.manifest, this.source.manifest(state, false));
    } catch (error) {
      for (const fd of kept) closeSync(fd);
      throw error;
    }
    this.lastAt = performance.now();
    this.lastCost = this.lastAt - started;
    return kept;
  }
}
