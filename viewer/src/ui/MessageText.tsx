// A user's or agent's message as people read it: Markdown (CommonMark + GFM tables, lists, strikethrough) through
// react-markdown, which builds React elements and never HTML. Raw HTML in the message stays text (react-markdown
// turns it into text nodes; no rehype-raw here). Links keep only http(s) targets and open in a new tab with
// rel="noopener noreferrer"; any other link (javascript:, data:, relative paths into the viewer's own server) is
// shown as its text. Images are never loaded (the page's CSP would refuse them anyway): they show as their alt text
// and address. Fenced code blocks in a common language are highlighted (CodeBlock.tsx, as React elements, not HTML). A toggle shows the raw text; a long message is folded behind "show all". Text with bidirectional
// controls is shown raw through <Shown>, which marks them (bidi.ts), instead of through Markdown.
import { memo, useState, type ReactNode } from 'react';
import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { hasBidiControls } from './bidi.ts';
import { Shown } from './Shown.tsx';
import { CodeBlock } from './CodeBlock.tsx';
import '../markdown.css';

const HTTP = /^https?:\/\//i;

/** The only link targets kept: absolute http(s) URLs. Everything else is dropped (the link shows as text). */
export function safeHref(url: string): string | undefined {
  const trimmed = url.trim();
  return HTTP.test(trimmed) ? trimmed : undefined;
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer" data-testid="md-link">{children}</a>
    ) : (
      <span className="md-link-dropped" title="not a link: only http(s) links are followed">{children}</span>
    ),
  img: ({ alt, src }) => (
    <span className="md-image" data-testid="md-image" title="images in messages are not loaded">
      [image{alt ? `: ${alt}` : ''}]{src && safeHref(src) ? ` ${src}` : ''}
    </span>
  ),
  pre: ({ children }) => <pre className="md-pre">{children}</pre>,
  // Fenced blocks name their language (`language-ts`): highlighted when known. Inline code has no class.
  code: ({ className, children }) => (className ? <CodeBlock className={className} text={(Array.isArray(children) ? children : [children]).join('')} /> : <code>{children}</code>),
  table: ({ children }) => <div className="md-table-wrap"><table>{children}</table></div>,
};

const plugins = [remarkGfm];

/** Past these, a message starts folded. */
const FOLD_CHARS = 3000;
const FOLD_LINES = 40;

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

const Rendered = memo(function Rendered({ text }: { text: string }) {
  return <Markdown remarkPlugins={plugins} components={components} urlTransform={(url) => safeHref(url) ?? ''}>{text}</Markdown>;
});

export function MessageText({ text }: { text: string }) {
  const [raw, setRaw] = useState(false);
  const long = text.length > FOLD_CHARS || lineCount(text) > FOLD_LINES;
  const [open, setOpen] = useState(!long);
  const bidi = hasBidiControls(text);
  const asRaw = raw || bidi;
  let body: ReactNode;
  if (asRaw) body = <div className="message-raw"><Shown text={text} /></div>;
  else body = <Rendered text={text} />;
  return (
    <div className="message-body">
      {!bidi && (
        <button type="button" className="link raw-toggle" data-testid="raw-toggle" aria-pressed={raw} onClick={() => setRaw(!raw)}>
          {raw ? 'formatted' : 'raw'}
        </button>
      )}
      <div className={`message-text${asRaw ? ' raw' : ' markdown'}${open ? '' : ' folded'}`} data-testid="message-text" data-format={asRaw ? 'raw' : 'markdown'}>
        {body}
      </div>
      {long && (
        <button type="button" className="link show-all" data-testid="show-all" onClick={() => setOpen(!open)}>
          {open ? 'fold' : `show all (${lineCount(text).toLocaleString('en-US')} lines, ${text.length.toLocaleString('en-US')} characters)`}
        </button>
      )}
    </div>
  );
}
