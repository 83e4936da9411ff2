// Two JSON values side by side, each drawn as an indented tree whose changed fields are marked: a key the other
// side lacks is `added`/`removed`, a leaf (or a value of another shape) that differs is `changed`. Text only
// (never HTML); deep or huge values are cut, long strings folded.
import type { ReactNode } from 'react';
import { jsonEqual } from '@flowtape/schema/diff';
import { Shown } from './Shown.tsx';
import { TextBlock } from './ValueView.tsx';

const MAX_DEPTH = 12;
const MAX_KEYS = 300;
const LONG_TEXT = 2000;

type Mark = 'same' | 'changed' | 'only';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function leaf(value: unknown): string {
  if (value === undefined) return '(absent)';
  return JSON.stringify(value) ?? String(value);
}

function Leaf({ value, mark }: { value: unknown; mark: Mark }) {
  const cls = mark === 'same' ? 'jv' : `jv ${mark === 'only' ? 'only' : 'changed'}`;
  if (typeof value === 'string' && (value.length > LONG_TEXT || value.includes('\n'))) {
    return <span className={cls} data-mark={mark}><TextBlock text={value} /></span>;
  }
  return <span className={cls} data-mark={mark}><Shown text={leaf(value)} /></span>;
}

/** One side's tree; `other` is the other side's value at the same place (undefined when absent there). */
function Tree({ value, other, otherHas, depth }: { value: unknown; other: unknown; otherHas: boolean; depth: number }): ReactNode {
  const sameShape = (isObject(value) && isObject(other)) || (Array.isArray(value) && Array.isArray(other));
  if (!otherHas) return <Leaf value={value} mark="only" />;
  if (!sameShape || depth >= MAX_DEPTH) return <Leaf value={value} mark={jsonEqual(value, other) ? 'same' : 'changed'} />;
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object);
  const otherMap = other as Record<string, unknown>;
  const shown = entries.slice(0, MAX_KEYS);
  return (
    <span className="jtree">
      {Array.isArray(value) ? '[' : '{'}
      {shown.map(([key, v]) => {
        const has = Array.isArray(other) ? Number(key) < other.length : Object.prototype.hasOwnProperty.call(otherMap, key);
        const equal = has && jsonEqual(v, otherMap[key]);
        return (
          <span key={key} className={`jrow${equal ? '' : ' differs'}`} data-key={key} data-differs={equal ? 'false' : 'true'}>
            <span className="jkey"><Shown text={Array.isArray(value) ? `${key}:` : `${JSON.stringify(key)}:`} /></span>{' '}
            <Tree value={v} other={otherMap[key]} otherHas={has} depth={depth + 1} />
          </span>
        );
      })}
      {entries.length > shown.length && <span className="jrow muted">… {entries.length - shown.length} more</span>}
      {Array.isArray(value) ? ']' : '}'}
    </span>
  );
}

/** `a` and `b` side by side; undefined on one side shows as absent. */
export function JsonCompare({ a, b, testId }: { a: unknown; b: unknown; testId?: string }) {
  const cell = (value: unknown, other: unknown, side: 'a' | 'b') => (
    <div className={`jcell side-${side}`} data-testid={testId ? `${testId}-${side}` : undefined}>
      {value === undefined ? <span className="muted">(absent)</span> : <Tree value={value} other={other} otherHas={other !== undefined} depth={0} />}
    </div>
  );
  return (
    <div className={`jcompare${jsonEqual(a, b) ? ' equal' : ''}`} data-testid={testId} data-equal={jsonEqual(a, b) ? 'true' : 'false'}>
      {cell(a, b, 'a')}
      {cell(b, a, 'b')}
    </div>
  );
}
