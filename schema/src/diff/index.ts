/**
 * `@flowtape/schema/diff`: the one diff engine. `flowtape diff` (which opens bundles from disk) and the viewer's
 * compare mode (which reads them over HTTP) both call it, so their reports can never disagree.
 */
export { diffBundleSides, type DiffOptions, type DiffResult, type DiffSide, type OpenedSide, type SideSummary } from './bundles.ts';
export {
  deepDiff,
  DiffCollector,
  excerpt,
  hunkIds,
  jsonEqual,
  PathDiffer,
  SECTIONS,
  type DeepDiffHooks,
  type DiffContext,
  type Difference,
  type DiffSection,
  type HunkSide,
  type PathHunk,
} from './core.ts';
export { formatMarkdown, formatText, groupDifferences, type DifferenceGroup } from './format.ts';
export { flowModel, isArtifactMark, refValue, RunAccumulator, usageModel, type ArtifactMark, type AttemptModel, type RunModel } from './model.ts';
export { IgnoreRules, normalizeCommand, Normalizer, pointer, pointerSegment, VOLATILE, type NormalizerRoots } from './normalize.ts';
export { alignByKey, alignTurns, splitTurns, turnNote, turnPointer, turnPrompt, type Aligned, type TurnEntry } from './turns.ts';
