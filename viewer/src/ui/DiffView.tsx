// A tool call's `diff` content (ACP: path, oldText, newText) as a real line diff, jsdiff's diffLines: removed lines
// marked `-`, added `+`, unchanged runs of more than a few lines folded. Text only, through <Shown>.
import { useMemo, useState } from 'react';
import { diffLines } from 'diff';
import { Shown } from './Shown.tsx';
import '../markdown.css';

interface Line {
  kind: 'add' | 'del' | 'same';
  text: string;
}

const CONTEXT = 3;
/** Past this size the two texts are shown one after the other instead of diffed (diffing is quadratic at worst). */
const MAX_DIFF_CHARS = 200_000;

function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export function DiffView({ path, oldText, newText }: { path: string; oldText: string | null | undefined; newText: string }) {
  const [expanded, setExpanded] = useState(false);
  const lines = useMemo((): Line[] => {
    const before = oldText ?? '';
    if (before.length + newText.length > MAX_DIFF_CHARS) {
      return [...linesOf(before).map((text) => ({ kind: 'del' as const, text })), ...linesOf(newText).map((text) => ({ kind: 'add' as const, text }))];
    }
    return diffLines(before, newText).flatMap((part) =>
      linesOf(part.value).map((text) => ({ kind: part.added ? 'add' as const : part.removed ? 'del' as const : 'same' as const, text })));
  }, [oldText, newText]);
  const added = lines.filter((l) => l.kind === 'add').length;
  const removed = lines.filter((l) => l.kind === 'del').length;
  // Unchanged lines far from any change are folded.
  const near = lines.map((_, i) => lines.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((l) => l.kind !== 'same'));
  let hidden = 0;
  const rows: Array<Line | { kind: 'fold'; count: number }> = [];
  lines.forEach((line, i) => {
    if (line.kind === 'same' && !near[i] && !expanded) {
      hidden++;
      return;
    }
    if (hidden > 0) rows.push({ kind: 'fold', count: hidden });
    hidden = 0;
    rows.push(line);
  });
  if (hidden > 0) rows.push({ kind: 'fold', count: hidden });
  return (
    <div className="diff-view" data-testid="diff-view">
      <div className="diff-head">
        <code><Shown text={path} /></code>
        {oldText === null || oldText === undefined ? <span className="muted"> new file</span> : null}
        <span className="diff-stat"> <span className="diff-add-count">+{added}</span> <span className="diff-del-count">−{removed}</span></span>
      </div>
      <pre className="diff-lines">
        {rows.map((row, i) =>
          row.kind === 'fold' ? (
            <button key={i} type="button" className="link diff-fold" onClick={() => setExpanded(true)}>… {row.count} unchanged line{row.count === 1 ? '' : 's'}</button>
          ) : (
            <div key={i} className={`diff-line-${row.kind}`} data-kind={row.kind}>
              <span className="diff-mark">{row.kind === 'add' ? '+' : row.kind === 'del' ? '-' : ' '}</span><Shown text={row.text} />
            </div>
          ))}
      </pre>
    </div>
  );
}
