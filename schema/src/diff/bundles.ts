/**
 * The semantic diff of two bundles (what `flowtape diff` reports and the viewer's compare mode shows). The traces
 * are read in lockstep with the streaming reader; attempts are aligned by attempt id (`node#n`: node id and attempt
 * order), never by time, compared as soon as both runs have finished them, and dropped. Memory holds the attempts
 * one run has finished and the other not yet (a handful when the runs are alike), one session's conversation at a
 * time, and the first differences.
 *
 * Pure and browser-safe: bundles are read through {@link BundleBackend}, whatever serves their bytes.
 */
import { loadFlow, type TraceLine } from '../loader.ts';
import { BundleFormatError } from '../validate.ts';
import { ArtifactComparer } from './artifact-comparer.ts';
import { deepDiff, DiffCollector, hunkIds, PathDiffer, type DiffContext, type DiffSection, type Difference, type PathHunk } from './core.ts';
import { flowModel, isArtifactMark, usageModel, type AttemptModel } from './model.ts';
import { IgnoreRules, pointer } from './normalize.ts';
import { diffSessions } from './session-diff.ts';
import { openSide, rethrowIn, type DiffOptions, type DiffSide, type Side } from './side.ts';

export type { DiffOptions, DiffSide, OpenedSide } from './side.ts';

export interface SideSummary {
  location: string;
  runId: string;
  flowName: string;
  status: string;
  complete: boolean;
  events: number;
  attempts: number;
}

export interface DiffResult {
  /** No behaviour difference (usage differences count only with the `usage` option; see `counts.usage`). */
  same: boolean;
  a: SideSummary;
  b: SideSummary;
  /** Behaviour differences (usage ones included only with the `usage` option). */
  total: number;
  /** Per section, every difference found; `usage` is counted here whether or not it counts in `total`. */
  counts: Record<DiffSection, number>;
  /** Whether usage differences were counted in `total` (the `usage` option). */
  usageCounted: boolean;
  /** The first `maxDetails` summary and detail differences, in the order found. */
  differences: Difference[];
  /** Differences counted but not kept. */
  omitted: number;
  /** Problems reading the bundles that did not stop the diff (torn last line, invalid line, seq gap). */
  warnings: string[];
}

/** Compares two bundles; throws BundleFormatError (its message names the side) when one cannot be read. */
export async function diffBundleSides(sideA: DiffSide, sideB: DiffSide, options: DiffOptions = {}): Promise<DiffResult> {
  try {
    return await diffUnguarded(sideA, sideB, options);
  } catch (error) {
    // Comparing recurses into values; one nested thousands of levels deep is bad input, not a crash.
    if (error instanceof RangeError) {
      throw new BundleFormatError(`${sideA.location} / ${sideB.location}: a value is nested too deeply to compare`, sideA.location);
    }
    throw error;
  }
}

async function diffUnguarded(sideA: DiffSide, sideB: DiffSide, options: DiffOptions): Promise<DiffResult> {
  const locationA = sideA.location;
  const locationB = sideB.location;
  const warnings: string[] = [];
  const ignore = new IgnoreRules(options.ignore);
  const out = new DiffCollector(ignore, options.maxDetails ?? 1000, options.usage === true);
  const maxArtifactBytes = options.maxArtifactBytes ?? 1 << 20;
  const a = await openSide('a', sideA, options, warnings);
  const b = await openSide('b', sideB, options, warnings);

  // Flow definitions.
  const [flowA, flowB] = await Promise.all([
    loadFlow(a.backend, a.manifest).catch((error: unknown) => rethrowIn(locationA, error)),
    loadFlow(b.backend, b.manifest).catch((error: unknown) => rethrowIn(locationB, error)),
  ]);
  deepDiff(flowModel(flowA, a.normalizer), flowModel(flowB, b.normalizer), '/flow', { section: 'flow' }, out);

  // Traces, in lockstep.
  // Artifact comparisons read files: queued by the synchronous structural diff, run in order after each step.
  const deferred: Array<() => Promise<void>> = [];
  const flush = async () => {
    while (deferred.length > 0) await deferred.shift()!();
  };
  const artifacts = new ArtifactComparer(a, b, out, maxArtifactBytes);
  const compare = (ma: AttemptModel | undefined, mb: AttemptModel | undefined, id: string) => {
    const context: DiffContext = { section: 'attempt', nodeId: (ma ?? mb)!.nodeId, attemptId: id };
    const path = pointer('attempts', id);
    if (!ma) return out.add({ ...context, kind: 'added', path, b: attemptSummary(mb!) });
    if (!mb) return out.add({ ...context, kind: 'removed', path, a: attemptSummary(ma) });
    const { usage: usageA, ...behaviourA } = ma;
    const { usage: usageB, ...behaviourB } = mb;
    deepDiff(usageModel(usageA), usageModel(usageB), `${path}/usage`, { ...context, section: 'usage' }, out);
    deepDiff(behaviourA, behaviourB, path, context, out, {
      intercept: (va, vb, at) => {
        if (!isArtifactMark(va) && !isArtifactMark(vb)) return false;
        deferred.push(() => artifacts.compare(va, vb, at, context));
        return true;
      },
    });
  };
  const finished = (side: Side, other: Side, models: AttemptModel[]) => {
    for (const model of models) {
      const id = `${model.nodeId}#${model.attempt}`;
      const match = other.pending.get(id);
      if (match) {
        other.pending.delete(id);
        if (side.label === 'a') compare(model, match, id);
        else compare(match, model, id);
      } else if (other.expected && (other.expected.get(model.nodeId) ?? 0) < model.attempt) {
        if (side.label === 'a') compare(model, undefined, id);
        else compare(undefined, model, id);
      } else {
        side.pending.set(id, model);
      }
    }
  };
  const path = new PathDiffer((hunk) => out.add(pathDifference(hunk)));
  let read = 0;
  const step = async (side: Side, other: Side): Promise<void> => {
    let next: IteratorResult<TraceLine>;
    try {
      next = await side.trace.next();
    } catch (error) {
      rethrowIn(side.location, error);
    }
    if (next.done) {
      side.done = true;
      if (side.label === 'a') path.doneA = true;
      else path.doneB = true;
      finished(side, other, side.acc.end());
      path.drain();
      return;
    }
    if (options.onProgress && (++read & 4095) === 0) options.onProgress(read);
    const { event } = next.value;
    const startedBefore = side.acc.started;
    finished(side, other, side.acc.add(event));
    if (side.acc.started !== startedBefore && event.attemptId) {
      if (side.label === 'a') path.pushA(event.attemptId);
      else path.pushB(event.attemptId);
    }
    await flush();
  };
  while (!a.done || !b.done) {
    const useA = b.done || (!a.done && (a.acc.started < b.acc.started || (a.acc.started === b.acc.started && a.acc.events <= b.acc.events)));
    if (useA) await step(a, b);
    else await step(b, a);
  }
  path.finish();
  for (const [id, model] of a.pending) compare(model, undefined, id);
  for (const [id, model] of b.pending) compare(undefined, model, id);
  await flush();
  warnings.push(...a.acc.warnings, ...b.acc.warnings);

  // Attempts per node.
  const nodes = new Set([...a.acc.nodeCounts.keys(), ...b.acc.nodeCounts.keys()]);
  for (const nodeId of nodes) {
    const ca = a.acc.nodeCounts.get(nodeId) ?? 0;
    const cb = b.acc.nodeCounts.get(nodeId) ?? 0;
    if (ca !== cb) out.add({ section: 'path', kind: 'changed', path: pointer('nodes', nodeId, 'attempts'), nodeId, a: ca, b: cb });
  }

  // The run itself.
  const runA = { ...a.acc.run, complete: a.manifest.complete, abandoned: a.manifest.abandoned ?? a.acc.run.abandoned };
  const runB = { ...b.acc.run, complete: b.manifest.complete, abandoned: b.manifest.abandoned ?? b.acc.run.abandoned };
  deepDiff(a.acc.value(runA), b.acc.value(runB), '/run', { section: 'run' }, out, {
    intercept: (va, vb, at) => {
      if (!isArtifactMark(va) && !isArtifactMark(vb)) return false;
      deferred.push(() => artifacts.compare(va, vb, at, { section: 'run' }));
      return true;
    },
  });
  await flush();
  deepDiff(usageModel(a.acc.usage), usageModel(b.acc.usage), '/run/usage', { section: 'usage' }, out);

  // Sessions, one pair at a time.
  await diffSessions(a, b, out, warnings);

  const summary = (side: Side): SideSummary => ({
    location: side.location,
    runId: side.manifest.runId,
    flowName: side.manifest.flowName,
    status: side.manifest.status,
    complete: side.manifest.complete,
    events: side.acc.events,
    attempts: side.acc.started,
  });
  return {
    same: out.total === 0,
    a: summary(a),
    b: summary(b),
    total: out.total,
    counts: out.counts,
    usageCounted: out.countUsage,
    differences: out.differences,
    omitted: out.all - out.differences.length,
    warnings,
  };
}

function attemptSummary(model: AttemptModel): unknown {
  return {
    outcome: model.outcome,
    ...(model.output !== undefined ? { output: model.output } : {}),
    ...(model.error !== undefined ? { error: model.error } : {}),
    ...(model.next !== undefined ? { next: model.next } : {}),
  };
}

function pathDifference(hunk: PathHunk): Difference {
  const { removed, added } = hunk;
  const kind = removed.count === 0 ? 'added' : added.count === 0 ? 'removed' : 'changed';
  return {
    section: 'path',
    kind,
    path: pointer('path', hunk.atA),
    nodeId: (removed.head[0] ?? added.head[0] ?? '').replace(/#\d+$/, ''),
    ...(removed.count > 0 ? { a: hunkIds(removed) } : {}),
    ...(added.count > 0 ? { b: hunkIds(added) } : {}),
    note: `${hunk.after ? `after ${hunk.after}` : 'at the start'} (step ${hunk.atA + 1} in a, ${hunk.atB + 1} in b)`,
  };
}
