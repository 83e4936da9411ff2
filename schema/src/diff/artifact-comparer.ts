import { deepDiff, type DiffCollector, type DiffContext } from './core.ts';
import { isArtifactMark, type ArtifactMark } from './model.ts';
import type { Side } from './side.ts';

/** Artifacts are compared by content: equal hashes are equal; otherwise text and JSON are loaded and normalised. */
export class ArtifactComparer {
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
