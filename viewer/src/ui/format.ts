// Small display helpers (no parsing of bundle files here).
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatClock(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(11, 23);
}

/**
 * A count with thousands separators (12,345), written out by hand: the first Number#toLocaleString of a page
 * starts ICU (tens of milliseconds, on the path of opening a bundle) and each later one costs more than this.
 */
export function formatCount(n: number): string {
  if (!Number.isInteger(n) || Math.abs(n) < 1000) return String(n);
  const digits = String(Math.abs(n));
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += ',' + digits.slice(i, i + 3);
  return n < 0 ? '-' + out : out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * How many levels of nesting a JSON view shows. Bundle values are agent-supplied and may be nested 100,000
 * levels deep (the parser reads that fine); JSON.stringify recurses and throws on them, and no one reads
 * past a few dozen levels anyway. Deeper values are replaced by a marker saying how much was left out.
 */
export const MAX_JSON_DEPTH = 64;

/** Stops counting nested levels (for the marker) after this many objects: the count is a courtesy. */
const COUNT_LIMIT = 1_000_000;

/** Levels of nesting in `value` (1 for an object or array of scalars), or undefined past COUNT_LIMIT objects. */
function levels(value: object): number | undefined {
  let max = 0;
  let seen = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (++seen > COUNT_LIMIT) return undefined;
    if (d > max) max = d;
    for (const child of Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

export function deepMarker(value: object): string {
  const n = levels(value);
  return `… ${n === undefined ? 'many' : n.toLocaleString('en-US')} deeper level${n === 1 ? '' : 's'} not shown (depth limit ${MAX_JSON_DEPTH})`;
}

/**
 * A value as JSON text (pretty with `indent`, one line with 0), at most MAX_JSON_DEPTH levels deep: deeper
 * values become a marker string. Never throws and never shows `[object Object]`.
 */
export function json(value: unknown, indent = 2): string {
  // JSON.stringify calls the replacer with `this` = the object holding `value`; the depth of each object
  // handed back is remembered, so a child knows its own. The top-level holder is JSON.stringify's own wrapper.
  const depthOf = new WeakMap<object, number>();
  function limit(this: unknown, _key: string, v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    const parent = typeof this === 'object' && this !== null ? depthOf.get(this) : undefined;
    const depth = parent === undefined ? 0 : parent + 1;
    if (depth >= MAX_JSON_DEPTH) return deepMarker(v);
    depthOf.set(v, depth);
    return v;
  }
  try {
    return JSON.stringify(value, limit, indent || undefined) ?? String(value);
  } catch (error) {
    return `(this value cannot be shown as JSON: ${(error as Error).message})`;
  }
}

/** One-line JSON (inline code, search text), depth-limited like `json`. */
export function jsonLine(value: unknown): string {
  return json(value, 0);
}

/** Stable colour per string (node ids in the timeline strip). */
export function hue(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}
