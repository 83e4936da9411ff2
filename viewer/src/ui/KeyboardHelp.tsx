// Keyboard help: `?` anywhere (outside a text field) opens a modal dialog listing the viewer's shortcuts; Esc, the
// close button or `?` again close it. A native <dialog> opened with showModal(): the browser makes the rest of the
// page inert, moves focus into the dialog and back, and closes it on Esc.
import { useEffect, useRef, useState } from 'react';

/** The shortcuts the viewer has (Timeline.tsx useTimelineKeys, and this dialog). */
export const SHORTCUTS: ReadonlyArray<{ where: string; keys: ReadonlyArray<[keys: string[], what: string]> }> = [
  {
    where: 'A run (the timeline)',
    keys: [
      [['←', '→'], 'previous / next event'],
      [['Shift', '←', '→'], 'previous / next node started'],
      [['Home'], 'before the run'],
      [['End'], 'the end of the run'],
      [['Space'], 'play / pause'],
    ],
  },
  {
    where: 'The graph',
    keys: [
      [['wheel'], 'zoom'],
      [['drag'], 'pan'],
    ],
  },
  {
    where: 'The waterfall',
    keys: [
      [['Ctrl', 'wheel'], 'zoom the time axis (⌘ on a Mac)'],
      [['Shift', 'wheel'], 'move along the time axis'],
      [['drag'], 'move along the axis (on the axis)'],
    ],
  },
  {
    where: 'Everywhere',
    keys: [
      [['?'], 'this help'],
      [['Esc'], 'close this help'],
    ],
  },
];

const HELP_EVENT = 'flowtape:help';

/** A small `?` button for headers: opens the same dialog (for those who do not guess the key). */
export function HelpButton() {
  return (
    <button type="button" className="help-button" data-testid="help-button" title="keyboard shortcuts (?)" aria-label="keyboard shortcuts"
      onClick={() => window.dispatchEvent(new Event(HELP_EVENT))}>?</button>
  );
}

function inTextField(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest('input, textarea, select, [contenteditable="true"]') !== null;
}

export function KeyboardHelp() {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '?' || e.ctrlKey || e.metaKey || e.altKey || inTextField(e.target)) return;
      e.preventDefault();
      setOpen((o) => !o);
    };
    const onAsk = () => setOpen(true);
    window.addEventListener('keydown', onKey);
    window.addEventListener(HELP_EVENT, onAsk);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener(HELP_EVENT, onAsk);
    };
  }, []);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="key-help" data-testid="key-help" aria-labelledby="key-help-title" onClose={() => setOpen(false)}
      onClick={(e) => { if (e.target === e.currentTarget) setOpen(false); /* a click on the backdrop */ }}>
      <div className="key-help-body">
        <h2 id="key-help-title">Keyboard shortcuts</h2>
        {SHORTCUTS.map((group) => (
          <section key={group.where}>
            <h3>{group.where}</h3>
            <dl>
              {group.keys.map(([keys, what]) => (
                <div key={what} className="key-row" data-testid="key-row">
                  <dt>{keys.map((k, i) => <kbd key={i}>{k}</kbd>)}</dt>
                  <dd>{what}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
        <p className="muted">The address bar always holds what is shown: copy it to share this view.</p>
        <button type="button" data-testid="key-help-close" onClick={() => setOpen(false)} autoFocus>close</button>
      </div>
    </dialog>
  );
}
