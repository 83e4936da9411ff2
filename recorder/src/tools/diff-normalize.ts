/**
 * What `flowtape diff` does not compare: values that change from run to run without the flow's behaviour
 * changing (times, durations, run and session ids, absolute paths, temp dirs, pids), and whatever the user
 * names with `--ignore` (JSON pointers or globs over the diff's paths).
 */
import { homedir, tmpdir } from 'node:os';

/** Keys whose values are always volatile, wherever they appear (payloads, outputs, tool inputs). */
const VOLATILE_KEYS = new Set([
  'at',
  'createdAt',
  'updatedAt',
  'startedAt',
  'endedAt',
  'finishedAt',
  'timestamp',
  'durationMs',
  'elapsedMs',
  'pid',
  'ppid',
  'hostname',
  'runId',
  'sessionId',
  'acpSessionId',
]);

export const VOLATILE = '<volatile>';

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\b/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces the volatile parts of one run's strings. Each side of a diff has its own normaliser (its own run id,
 * cwd, bundle dir, session ids), so the same text in two runs normalises to the same string.
 */
export class Normalizer {
  private pattern: RegExp | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(roots: { bundleDir?: string; extraRoots?: string[] } = {}) {
    if (roots.bundleDir) this.addPath(roots.bundleDir, '<bundle>');
    for (const root of roots.extraRoots ?? []) this.addPath(root, '<root>');
    this.addPath(tmpdir(), '<tmp>');
    this.addPath(homedir(), '<home>');
  }

  /** Adds an absolute path (e.g. the run's cwd) to replace by `token`; longer paths are replaced first. */
  addPath(path: string | undefined, token: string): void {
    if (!path || path.length < 2 || path === '/') return;
    this.addToken(path.replace(/\/+$/, ''), token);
  }

  /** Adds a literal (a run id, a session id) to replace by `token`. */
  addToken(literal: string | undefined, token: string): void {
    if (!literal || literal.length < 3 || this.tokens.has(literal)) return;
    this.tokens.set(literal, token);
    this.pattern = undefined;
  }

  string(text: string): string {
    if (this.tokens.size > 0) {
      this.pattern ??= new RegExp(
        [...this.tokens.keys()]
          .sort((a, b) => b.length - a.length)
          .map(escapeRegExp)
          .join('|'),
        'g',
      );
      text = text.replace(this.pattern, (match) => this.tokens.get(match) ?? match);
    }
    text = text.replace(ISO_TIME, '<time>');
    // Temp dirs named by the OS or by mkdtemp: `/tmp/foo-AbC123/...` → `<tmp>/...`
    text = text.replace(/(?:^|(?<=[\s"'=:(]))\/(?:private\/)?(?:tmp|var\/folders\/[^/\s]+\/[^/\s]+\/T)\/[^/\s"']+/g, '<tmp>');
    // …and as the recorder's deterministic mode writes them (`<tmp>/flowtape-x-AbC123/...`).
    text = text.replace(/<tmp>\/[^/\s"']+/g, '<tmp>');
    return text;
  }

  /** A deep copy of a JSON value with volatile keys masked and volatile strings replaced. */
  value(value: unknown): unknown {
    if (typeof value === 'string') return this.string(value);
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (v === undefined) continue;
        out[key] = VOLATILE_KEYS.has(key) ? VOLATILE : this.value(v);
      }
      return out;
    }
    return value;
  }
}

/** Escapes one JSON pointer segment. */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointer(...segments: Array<string | number>): string {
  return segments.map((s) => '/' + pointerSegment(s)).join('');
}

function splitPointer(path: string): string[] {
  if (path === '' || path === '/') return [];
  return path
    .replace(/^\//, '')
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * `--ignore` patterns. A JSON pointer (`/attempts/review#1/output`) ignores that value and everything under it.
 * A glob matches paths segment by segment: `*` within a segment, `**` any number of segments; a glob that does
 * not start with `/` may match at any depth (`durationMs`, `output/*Id`).
 */
export class IgnoreRules {
  private readonly rules: RegExp[][] = [];

  constructor(patterns: readonly string[] = []) {
    for (const pattern of patterns) {
      if (pattern.trim() === '') continue;
      const rooted = pattern.startsWith('/');
      const segments = splitPointer(rooted ? pattern : '/' + pattern);
      const compiled = segments.map((segment) =>
        segment === '**' ? GLOBSTAR : new RegExp('^' + segment.split('*').map(escapeRegExp).join('.*') + '$'),
      );
      this.rules.push(rooted ? compiled : [GLOBSTAR, ...compiled]);
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** True when `path` (a JSON pointer) or one of its ancestors is ignored. */
  matches(path: string): boolean {
    if (this.rules.length === 0) return false;
    const segments = splitPointer(path);
    return this.rules.some((rule) => matchPrefix(rule, 0, segments, 0));
  }
}

const GLOBSTAR = /(?:)/;

function matchPrefix(rule: RegExp[], r: number, path: string[], p: number): boolean {
  if (r === rule.length) return true; // the rule matched an ancestor (or the path itself)
  const part = rule[r]!;
  if (part === GLOBSTAR) {
    for (let skip = p; skip <= path.length; skip++) if (matchPrefix(rule, r + 1, path, skip)) return true;
    return false;
  }
  if (p >= path.length) return false;
  return part.test(path[p]!) && matchPrefix(rule, r + 1, path, p + 1);
}
