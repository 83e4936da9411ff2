// A fenced code block of a message, highlighted when its language is one of a few common ones (lowlight, i.e.
// highlight.js grammars, registered one by one to keep the app small). lowlight returns a tree of spans and text;
// it is drawn here as React elements (spans with highlight.js class names, text as text), never as HTML, so a
// code block's text cannot become markup whatever it holds. An unknown language, or none, stays plain text.
import { createElement, type ReactNode } from 'react';
import { createLowlight } from 'lowlight';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import '../highlight.css';

const lowlight = createLowlight({ bash, css, diff, go, javascript, json, python, rust, sql, typescript, xml, yaml });
lowlight.registerAlias({ bash: ['sh', 'shell', 'zsh', 'console'], javascript: ['js', 'jsx', 'mjs', 'cjs'], typescript: ['ts', 'tsx', 'mts'], python: ['py'], rust: ['rs'], xml: ['html', 'svg'], yaml: ['yml'] });

/** Past this, a block is shown plain: highlighting is a comfort, not worth a stall on a 1 MB paste. */
const MAX_CHARS = 50_000;

type HastNode = { type: string; value?: string; tagName?: string; properties?: { className?: unknown }; children?: HastNode[] };

function draw(nodes: readonly HastNode[] | undefined): ReactNode[] {
  return (nodes ?? []).map((node, i) => {
    if (node.type === 'text') return node.value ?? '';
    if (node.type !== 'element') return null;
    const cls = Array.isArray(node.properties?.className) ? node.properties.className.filter((c): c is string => typeof c === 'string' && /^hljs-[\w-]+$|^[\w-]+_$/.test(c)) : [];
    // Only spans come out of lowlight; anything else is drawn as its children.
    return node.tagName === 'span' ? createElement('span', { key: i, className: cls.join(' ') || undefined }, ...draw(node.children)) : draw(node.children);
  });
}

/** The language a fence names (`language-ts` → ts), when lowlight knows it. */
export function knownLanguage(className: string | undefined): string | undefined {
  const name = /(?:^|\s)language-([\w+#-]+)/.exec(className ?? '')?.[1]?.toLowerCase();
  return name && lowlight.registered(name) ? name : undefined;
}

export function CodeBlock({ className, text }: { className?: string; text: string }) {
  const language = knownLanguage(className);
  if (!language || text.length > MAX_CHARS) return <code className={className} data-testid="md-code">{text}</code>;
  const tree = lowlight.highlight(language, text);
  return <code className={`${className ?? ''} hljs`} data-testid="md-code" data-language={language}>{draw(tree.children as HastNode[])}</code>;
}
