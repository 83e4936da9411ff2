// The duration view: one row per attempt, ACP turn and action, each a bar on the run's time axis, with the cursor
// as a vertical line. Rows are virtualised (a long run has thousands); a click moves the cursor to the start of
// the bar and pins its node.
import { useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { cursorMs, waterfallOf, type Bar } from '../model/waterfall.ts';
import { useStore, useView } from './store-context.tsx';
import { formatDuration, hue } from './format.ts';
import { Shown } from './Shown.tsx';
import '../waterfall.css';

const ROW = 22;
const TICKS = 6;

function barTitle(bar: Bar, spanEnd: number): string {
  const end = bar.endMs ?? spanEnd;
  return `${bar.attemptId} · ${bar.kind === 'attempt' ? bar.status ?? 'running' : bar.label}${bar.kind !== 'attempt' && bar.status ? ` (${bar.status})` : ''} · ${formatDuration(bar.startMs)} → ${bar.endMs === undefined ? 'still running' : formatDuration(end)} · ${formatDuration(end - bar.startMs)}`;
}

export function Waterfall() {
  const store = useStore();
  const model = useView((s) => s.model)!;
  const cursor = useView((s) => s.cursor);
  const wf = useMemo(() => waterfallOf(model.timeline), [model.timeline]);
  const at = cursorMs(model.timeline, cursor, wf);
  const parentRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: wf.bars.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 12 });
  const pct = (ms: number) => `${Math.max(0, Math.min(100, (ms / wf.spanMs) * 100))}%`;
  const pick = (bar: Bar) => store.setState({ cursor: bar.startIndex + 1, follow: false, node: bar.nodeId, attempt: bar.attemptId });
  return (
    <div className="waterfall" data-testid="waterfall" data-span-ms={wf.spanMs} data-bars={wf.bars.length}>
      <div className="wf-axis">
        <div className="wf-label muted">{wf.bars.length.toLocaleString('en-US')} bars · {formatDuration(wf.spanMs)}</div>
        <div className="wf-track">
          {Array.from({ length: TICKS + 1 }, (_, i) => (
            <span key={i} className="wf-tick" style={{ left: `${(i / TICKS) * 100}%` }}>{formatDuration((wf.spanMs * i) / TICKS)}</span>
          ))}
        </div>
      </div>
      <div className="wf-rows" ref={parentRef}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          <div className="wf-cursor-lane">
            <div className="wf-cursor" data-testid="wf-cursor" data-ms={at} style={{ left: pct(at) }} />
          </div>
          {virtualizer.getVirtualItems().map((item) => {
            const bar = wf.bars[item.index]!;
            const end = bar.endMs ?? wf.spanMs;
            const started = cursor > bar.startIndex;
            return (
              <div key={bar.id} className={`wf-row kind-${bar.kind}`} style={{ top: item.start, height: ROW }}
                data-testid="wf-row" data-id={bar.id} data-kind={bar.kind} data-attempt={bar.attemptId}
                data-start-ms={bar.startMs} data-end-ms={bar.endMs ?? ''} data-status={bar.status ?? ''}>
                <div className="wf-label" title={bar.attemptId}>
                  <Shown text={bar.kind === 'attempt' ? bar.attemptId : `${bar.label}`} />
                </div>
                <div className="wf-track">
                  <button type="button" className={`wf-bar status-${bar.status ?? 'running'}${started ? '' : ' future'}`} data-testid="wf-bar"
                    style={{ left: pct(bar.startMs), width: `max(2px, ${pct(end - bar.startMs)})`, ...(bar.kind === 'attempt' ? { background: `hsl(${hue(bar.nodeId)} 55% 55%)` } : {}) }}
                    title={barTitle(bar, wf.spanMs)} onClick={() => pick(bar)} />
                </div>
              </div>
            );
          })}
        </div>
      </div>
      {wf.bars.length === 0 && <div className="empty">No attempts yet.</div>}
    </div>
  );
}
