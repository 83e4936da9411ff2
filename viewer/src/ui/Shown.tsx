// The one way the viewer puts bundle- or agent-supplied text on screen: as text nodes (never HTML), with
// bidirectional controls shown as marked tokens instead of applied (see bidi.ts for why).
import type { ReactNode } from 'react';
import { bidiName, bidiToken, hasBidiControls, revealBidi, splitBidi } from './bidi.ts';

/** Past this many controls the tokens are plain text: a hostile string must not become a million elements. */
const MAX_MARKED = 500;

export function Shown({ text }: { text: string | undefined | null }): ReactNode {
  if (text === undefined || text === null || text === '') return null;
  if (!hasBidiControls(text)) return text;
  const parts = splitBidi(text);
  if (parts.length > MAX_MARKED * 2) return revealBidi(text);
  return parts.map((part, i) =>
    i % 2 === 0
      ? part
      : <span key={i} className="bidi-control" data-testid="bidi-control" title={`${bidiName(part)}: shown, not applied`}>{bidiToken(part)}</span>,
  );
}

/** For the many places that show a value that may or may not be a string. */
export function shown(value: unknown): ReactNode {
  if (value === undefined || value === null) return null;
  return <Shown text={typeof value === 'string' ? value : String(value)} />;
}
