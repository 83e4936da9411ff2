/**
 * The semantic diff of two bundles (what `flowtape diff` reports and the viewer's compare mode shows). The traces
 * are read in lockstep with the streaming reader; attempts are aligned by attempt id (`node#n`: node id and attempt
 * order), never by time, compared as soon as both runs have finished them, and dropped. Memory holds the attempts
 * one run has finished and the other not yet (a handful when the runs are alike), one session's conversation at a
 * time, and the first differences.
 *
 * Pure and browser-safe: bundles are read through {@link BundleBackend}, whatever serves their bytes.
 */
import { ConversationBuilder } from '../conversation.ts';
import {
  loadFlow,
  loadManifest,
  loadSessionBinding,
  loadSessionEvents,
  loadTrace,
  type BundleBackend,
  type ReadIssue,
  type TraceLine,
} from '../loader.ts';
import type { Manifest } from '../manifest.ts';
import { RunProjection } from '../projections.ts';
import type { ConversationEntry, McpServerBinding } from '../session.ts';
import { BundleFormatError } from '../validate.ts';
import { IgnoreRules, Normalizer, pointer } from './normalize.ts';
import { flowModel, isArtifactMark, RunAccumulator, usageModel, type ArtifactMark, type AttemptModel } from './model.ts';
import {
  deepDiff,
  DiffCollector,
  hunkIds,
  PathDiffer,
  type DiffContext,
  type DiffSection,
  type Difference,
  type PathHunk,
} from './core.ts';

/** One side of a diff: a name for people, and how to open it. */
export interface DiffSide {
  /** The bundle as the user named it: shown in the report, and the prefix of its errors. */
  location: string;
  /** Opens the bundle. Called in order (a, a's manifest, then b), so the first bad side is the one reported. */
  open(): Promise<OpenedSide>;
}

export interface OpenedSide {
  backend: BundleBackend;
  /** The bundle's absolute directory on disk, replaced by `<bundle>` in its strings; undefined for a zip. */
  dir?: string;
}

export interface DiffOptions {
  /** JSON pointers or globs of paths not to compare (`--ignore`). */
  ignore?: readonly string[];
  /** How many differences to keep in full, for the summary (run, flow, path) and for the details (attempts,
   *  artifacts, sessions) each; all are counted. Default 1000. */
  maxDetails?: number;
  /** Artifacts up to this size are loaded to compare by content after normalisation. Default 1 MiB. */
  maxArtifactBytes?: number;
  /** Count usage differences (tokens, cost, context window) as behaviour differences (`--usage`). Default false:
   *  they are reported in the `usage` section only and `same` ignores them. */
  usage?: boolean;
  /** The machine the bundles were recorded and read on: its temp and home directories are volatile roots. The CLI
   *  passes `os.tmpdir()` and `os.homedir()`; the viewer gets them from the `flowtape view` server. */
  machine?: { tmpDir?: string; homeDir?: string };
}

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

interface Side {
  label: 'a' | 'b';
  location: string;
  backend: BundleBackend;
  manifest: Manifest;
  normalizer: Normalizer;
  acc: RunAccumulator;
  trace: AsyncGenerator<TraceLine>;
  done: boolean;
  /** Attempts per node in the whole run, when known up front: lets an attempt the other run lacks go at once. */
  expected?: Map<string, number>;
  pending: Map<string, AttemptModel>;
}

async function openSide(label: 'a' | 'b', input: DiffSide, options: DiffOptions, warnings: string[]): Promise<Side> {
  const { location } = input;
  const { backend, dir } = await input.open();
  const manifest = await loadManifest(backend).catch((error: unknown) => rethrowIn(location, error));
  const normalizer = new Normalizer({ bundleDir: dir, tmpDir: options.machine?.tmpDir, homeDir: options.machine?.homeDir });
  normalizer.addToken(manifest.runId, '<run-id>');
  const onIssue = (issue: ReadIssue) => {
    if (warnings.length < 50) warnings.push(`${label}: ${issue.message}`);
  };
  const trace = loadTrace(backend, manifest, { onIssue });
  return {
    label,
    location,
    backend,
    manifest,
    normalizer,
    acc: new RunAccumulator(label, normalizer),
    trace,
    done: false,
    expected: await expectedCounts(backend, manifest),
    pending: new Map(),
  };
}

function rethrowIn(location: string, error: unknown): never {
  if (error instanceof Error && !error.message.startsWith(location)) error.message = `${location}: ${error.message}`;
  throw error;
}

/**
 * Attempts per node from projections/run.json, trusted only when it reflects the whole trace of a complete
 * bundle. (It only decides how soon an unmatched attempt is reported: a wrong count costs memory, not truth.)
 */
async function expectedCounts(backend: BundleBackend, manifest: Manifest): Promise<Map<string, number> | undefined> {
  if (!manifest.complete) return undefined;
  try {
    const text = await backend.readText(manifest.files.run);
    if (text === undefined) return undefined;
    const run = RunProjection.safeParse(JSON.parse(text));
    if (!run.success || run.data.seq !== manifest.lastSeq) return undefined;
    return new Map(run.data.nodes.map((n) => [n.nodeId, n.attempts]));
  } catch {
    return undefined;
  }
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

/** Artifacts are compared by content: equal hashes are equal; otherwise text and JSON are loaded and normalised. */
class ArtifactComparer {
  constructor(
    private readonly a: Side,
    private readonly b: Side,
    private readonly out: DiffCollector,
    private readonly maxBytes: number,
  ) {}

  async compare(va: unknown, vb: unknown, path: string, context: DiffContext): Promise<void> {
    const ctx: DiffContext = { ...context, section: 'artifact' };
    if (isArtifactMark(va) && isArtifactMark(vb) && va.$artifact === vb.$artifact) return;
    const [ca, cb] = await Promise.all([this.content(this.a, va), this.content(this.b, vb)]);
    if (ca === undefined || cb === undefined) {
      this.out.add({ ...ctx, kind: 'changed', path, a: va, b: vb, note: 'artifact content differs (not loaded)' });
      return;
    }
    deepDiff(ca, cb, path, ctx, this.out);
  }

  /** The normalised content of an artifact (JSON parsed, text as a string), or the inline value itself. */
  private async content(side: Side, value: unknown): Promise<unknown> {
    if (!isArtifactMark(value)) return value;
    const mark: ArtifactMark = value;
    if (mark.size > this.maxBytes) return undefined;
    const text = await side.backend.readText(mark.path).catch(() => undefined);
    if (text === undefined) return undefined;
    if (mark.mediaType.includes('json') || mark.path.endsWith('.json')) {
      try {
        return side.normalizer.value(JSON.parse(text));
      } catch {
        // Not JSON after all: compare as text.
      }
    }
    if (!/^(text\/|application\/(json|x-ndjson|xml|yaml))/.test(mark.mediaType) && text.includes('\uFFFD')) return undefined;
    return side.normalizer.string(text);
  }
}

async function diffSessions(a: Side, b: Side, out: DiffCollector, warnings: string[]): Promise<void> {
  const byKey = (side: Side) => new Map([...side.acc.sessionKeys].map(([id, key]) => [key, id]));
  const keysA = byKey(a);
  const keysB = byKey(b);
  const keys = [...keysA.keys(), ...[...keysB.keys()].filter((k) => !keysA.has(k))];
  for (const key of keys) {
    const context: DiffContext = { section: 'session', session: key };
    const base = pointer('sessions', key);
    if (out.ignore.matches(base)) continue;
    const idA = keysA.get(key);
    const idB = keysB.get(key);
    if (idA === undefined || idB === undefined) {
      out.add({ ...context, kind: idA === undefined ? 'added' : 'removed', path: base, [idA === undefined ? 'b' : 'a']: key });
      continue;
    }
    const [bindingA, bindingB] = await Promise.all([sessionBinding(a, idA), sessionBinding(b, idB)]);
    deepDiff(bindingA, bindingB, `${base}/binding`, context, out);
    const [messagesA, messagesB] = await Promise.all([conversation(a, idA, warnings), conversation(b, idB, warnings)]);
    if (messagesA.length !== messagesB.length) {
      out.add({ ...context, kind: 'changed', path: `${base}/messageCount`, a: messagesA.length, b: messagesB.length });
    }
    for (let i = 0; i < Math.max(messagesA.length, messagesB.length); i++) {
      const ma = messagesA[i];
      const mb = messagesB[i];
      const attemptId = (ma as { attemptId?: string } | undefined)?.attemptId ?? (mb as { attemptId?: string } | undefined)?.attemptId;
      deepDiff(ma, mb, `${base}/messages/${i}`, { ...context, ...(attemptId ? { attemptId, nodeId: attemptId.replace(/#\d+$/, '') } : {}) }, out);
    }
  }
}

async function sessionBinding(side: Side, sessionId: string): Promise<unknown> {
  try {
    const binding = await loadSessionBinding(side.backend, sessionId);
    return side.normalizer.value({
      handle: binding.handle,
      mode: binding.mode,
      // Normalised by key, like every agentCommand (normalize.ts, normalizeCommand).
      agentCommand: binding.agentCommand,
      agent: binding.agent,
      protocolVersion: binding.protocolVersion,
      authMethodId: binding.authMethodId,
      mcpServers: mcpServerSet(binding.mcpServers),
    });
  } catch (error) {
    if (error instanceof BundleFormatError) return { unreadable: error.message };
    throw error;
  }
}

/**
 * The MCP servers given to the agent, as a set keyed by server name (`/binding/mcpServers/<name>/…`): the order they
 * were listed in is not behaviour, a server added, removed or started otherwise is. Absent and empty are the same: none.
 */
function mcpServerSet(servers: readonly McpServerBinding[] | undefined): Record<string, unknown> | undefined {
  if (!servers || servers.length === 0) return undefined;
  const set: Record<string, unknown> = {};
  for (const { name, ...server } of servers) {
    let key = name;
    for (let n = 2; key in set; n++) key = `${name}#${n}`;
    set[key] = server;
  }
  return set;
}

/**
 * The conversation rebuilt from the raw events (the source of truth), each entry without its positions
 * (`index`, event ranges) and with tool call ids numbered in order of appearance (agents make them up).
 */
async function conversation(side: Side, sessionId: string, warnings: string[]): Promise<unknown[]> {
  const builder = new ConversationBuilder();
  try {
    for await (const { event } of loadSessionEvents(side.backend, sessionId, (issue) => {
      if (warnings.length < 50) warnings.push(`${side.label}: ${issue.message}`);
    })) {
      builder.add(event);
    }
  } catch (error) {
    if (!(error instanceof BundleFormatError)) throw error;
    warnings.push(`${side.label}: ${error.message}`);
  }
  const toolIds = new Map<string, string>();
  const toolId = (id: string) => {
    let mapped = toolIds.get(id);
    if (!mapped) toolIds.set(id, (mapped = `tool-${toolIds.size + 1}`));
    return mapped;
  };
  return builder.messages.map((entry: ConversationEntry) => {
    // `replay` says where a replayed turn came from (the recording, a live agent): provenance, not behaviour. What
    // the live agent answered is compared like any other answer.
    const { index: _index, sessionEvents: _events, replay: _replay, ...rest } = entry;
    const copy: Record<string, unknown> = { ...rest };
    if (typeof copy.toolCallId === 'string') copy.toolCallId = toolId(copy.toolCallId);
    return side.normalizer.value(copy);
  });
}
