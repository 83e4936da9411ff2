/** Renders a DiffResult for people: plain text for terminals, Markdown for a PR comment or a CI step summary. */
import { SECTIONS, type Difference } from './core.ts';
import type { DiffResult } from './bundles.ts';
import { terminalSafe, terminalSafeInline } from '../terminal-safe.ts';

/** Not a path prefix: marks the usage group, whose lines show their full paths. */
const USAGE_BASE = '(usage)';

interface Group {
  title: string;
  /** Prefix stripped from the paths shown in the group. */
  base: string;
  items: Difference[];
}

function groupOf(diff: Difference): { key: string; title: string; base: string } {
  // Usage has a group of its own, after every behaviour difference; paths are shown in full there.
  if (diff.section === 'usage') return { key: 'usage', title: 'usage (tokens, cost)', base: USAGE_BASE };
  if ((diff.section === 'attempt' || diff.section === 'artifact') && diff.attemptId) {
    const base = `/attempts/${diff.attemptId.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    return { key: `attempt:${diff.attemptId}`, title: `node ${diff.nodeId} · attempt ${diff.attemptId}`, base };
  }
  if (diff.section === 'session' && diff.session) {
    const base = `/sessions/${diff.session.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    return { key: `session:${diff.session}`, title: `session ${diff.session}`, base };
  }
  if (diff.section === 'flow') return { key: 'flow', title: 'flow definition', base: '/flow' };
  if (diff.section === 'path') return { key: 'path', title: 'path taken', base: '' };
  return { key: 'run', title: 'run', base: '/run' };
}

function groups(differences: Difference[]): Group[] {
  const map = new Map<string, Group>();
  for (const diff of differences) {
    const { key, title, base } = groupOf(diff);
    let group = map.get(key);
    if (!group) map.set(key, (group = { title, base, items: [] }));
    group.items.push(diff);
  }
  // Run, flow and path first, then attempts and sessions in the order they were found, usage last.
  const rank = (g: Group) => (g.base === '/run' ? 0 : g.base === '/flow' ? 1 : g.base === '' ? 2 : g.base === USAGE_BASE ? 4 : 3);
  return [...map.values()].sort((x, y) => rank(x) - rank(y));
}

const MARK = { added: '+', removed: '-', changed: '~' } as const;

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && (/#\d+$/.test(v) || /^… \d+ more …$/.test(v)))) {
    return value.join(' → ');
  }
  return JSON.stringify(value) ?? String(value);
}

function relative(diff: Difference, base: string): string {
  if (diff.section === 'path') {
    if (diff.path.startsWith('/nodes/')) return `attempts of node ${diff.nodeId}`;
    return diff.note ?? diff.path;
  }
  return base && diff.path.startsWith(base) ? diff.path.slice(base.length) : diff.path;
}

/** One line per difference: `~ /output/verdict: "approve" → "reject"`. */
function line(diff: Difference, base: string): string {
  const where = relative(diff, base);
  const note = diff.note && diff.section !== 'path' ? ` (${diff.note})` : '';
  if (diff.section === 'path' && !diff.path.startsWith('/nodes/')) {
    return `${MARK[diff.kind]} ${where}: a: ${diff.a === undefined ? '—' : show(diff.a)} | b: ${diff.b === undefined ? '—' : show(diff.b)}`;
  }
  const at = where === '' ? '' : ` ${where}${note}:`;
  switch (diff.kind) {
    case 'added':
      return `+${at} only in b: ${show(diff.b)}`;
    case 'removed':
      return `-${at} only in a: ${show(diff.a)}`;
    case 'changed':
      return `~${at} ${show(diff.a)} → ${show(diff.b)}`;
  }
}

/** A group of the text report: its title and its lines, each with the difference it shows. */
export interface DifferenceGroup {
  title: string;
  lines: Array<{ difference: Difference; text: string }>;
}

/**
 * The text report's groups in its order (run, flow, path, then attempts and sessions as found, usage last), each
 * line worded as {@link formatText} prints it (without its indent): the viewer's compare mode lists these.
 */
export function groupDifferences(differences: Difference[]): DifferenceGroup[] {
  return groups(differences).map((group) => ({
    title: group.title,
    lines: group.items.map((difference) => ({ difference, text: line(difference, group.base) })),
  }));
}

function countsLine(result: DiffResult): string {
  const parts = SECTIONS.filter((s) => result.counts[s] > 0 && (s !== 'usage' || result.usageCounted)).map((s) => `${s} ${result.counts[s]}`);
  return parts.join(', ');
}

/** What the verdict says about usage differences that were found but not counted. */
function usageNote(result: DiffResult): string | undefined {
  const n = result.counts.usage;
  if (n === 0 || result.usageCounted) return undefined;
  return `${n} usage difference${n === 1 ? '' : 's'} (tokens, cost), not counted as behaviour (--usage counts them)`;
}

function sideLine(name: string, side: DiffResult['a']): string {
  return `${name}: ${terminalSafeInline(side.location)} (run ${side.runId}, ${side.status}${side.complete ? '' : ', incomplete'}, ${side.events} events)`;
}

export function formatText(result: DiffResult): string {
  const out = [sideLine('a', result.a), sideLine('b', result.b)];
  const note = usageNote(result);
  if (result.same) out.push(note ? `no differences in behaviour; ${note}` : 'no differences');
  else out.push(`${result.total} difference${result.total === 1 ? '' : 's'}: ${countsLine(result)}${note ? `; and ${note}` : ''}`);
  if (!result.same || note) {
    for (const group of groupDifferences(result.differences)) {
      out.push('', group.title);
      for (const { text } of group.lines) out.push('  ' + text);
    }
    if (result.omitted > 0) out.push('', `… ${result.omitted} more differences not shown (raise --max-details, or use --json)`);
  }
  for (const warning of result.warnings.slice(0, 20)) out.push(`warning: ${warning}`);
  return out.join('\n') + '\n';
}

// Markdown output is pasted into PR comments and $GITHUB_STEP_SUMMARY, and printed: the values from the bundles
// reach it through code() and escapeMd() only, which show control characters escaped (the CLI's output path does
// it again, a no-op then; here it is done before the size budget is counted).

/** Inline code that survives backticks in the value. */
function code(text: string): string {
  const clean = terminalSafe(text.replace(/\r?\n/g, '⏎'));
  const longest = Math.max(0, ...(clean.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}

function escapeMd(text: string): string {
  return terminalSafe(text).replace(/([\\`*_{}[\]<>|#])/g, '\\$1');
}

function mdLine(diff: Difference, base: string): string {
  const where = relative(diff, base);
  const note = diff.note && diff.section !== 'path' ? ` _(${escapeMd(diff.note)})_` : '';
  if (diff.section === 'path' && !diff.path.startsWith('/nodes/')) {
    return `- ${escapeMd(where)}: a ${diff.a === undefined ? '—' : code(show(diff.a))} · b ${diff.b === undefined ? '—' : code(show(diff.b))}`;
  }
  const at = where === '' ? '' : ` ${code(where)}${note}`;
  switch (diff.kind) {
    case 'added':
      return `- **only in b**${at}: ${code(show(diff.b))}`;
    case 'removed':
      return `- **only in a**${at}: ${code(show(diff.a))}`;
    case 'changed':
      return `- **changed**${at}: ${code(show(diff.a))} → ${code(show(diff.b))}`;
  }
}

/** Markdown for a PR comment or `$GITHUB_STEP_SUMMARY`; summarised to stay under `maxBytes` (default 60 KB). */
export function formatMarkdown(result: DiffResult, maxBytes = 60_000): string {
  const head: string[] = [];
  const note = usageNote(result);
  if (result.same && !note) {
    head.push(`### flowtape diff: no differences`, '', `${code(result.a.location)} and ${code(result.b.location)} behave the same.`);
    return head.join('\n') + '\n';
  }
  head.push(result.same ? `### flowtape diff: no differences in behaviour` : `### flowtape diff: ${result.total} difference${result.total === 1 ? '' : 's'}`, '');
  if (note) head.push(`_${escapeMd(note.charAt(0).toUpperCase() + note.slice(1))}._`, '');
  head.push(`| | bundle | run | status | events |`, `|---|---|---|---|---|`);
  for (const [name, side] of [['a', result.a], ['b', result.b]] as const) {
    head.push(`| ${name} | ${code(side.location)} | ${code(side.runId)} | ${side.status}${side.complete ? '' : ' (incomplete)'} | ${side.events} |`);
  }
  head.push('', `| section | differences |`, `|---|---|`);
  for (const section of SECTIONS) if (result.counts[section] > 0) head.push(`| ${section} | ${result.counts[section]} |`);
  let text = head.join('\n') + '\n';
  let shown = 0;
  const tail = (more: number) =>
    `\n_… ${more} more difference${more === 1 ? '' : 's'} not shown; \`flowtape diff --json --max-details ${result.total}\` lists all of them._\n`;
  outer: for (const group of groups(result.differences)) {
    const lines = [`\n#### ${escapeMd(group.title)}\n`];
    for (const diff of group.items) lines.push(mdLine(diff, group.base));
    let block = lines.join('\n') + '\n';
    if (new TextEncoder().encode(text + block).length + 200 > maxBytes) {
      // Keep what fits of this group, then stop.
      block = lines[0]!;
      for (const l of lines.slice(1)) {
        if (new TextEncoder().encode(text + block + l + '\n').length + 200 > maxBytes) {
          text += block;
          break outer;
        }
        block += l + '\n';
        shown++;
      }
      text += block;
      continue;
    }
    text += block;
    shown += group.items.length;
  }
  const listed = result.total + (result.usageCounted ? 0 : result.counts.usage);
  if (shown < listed) text += tail(listed - shown);
  if (result.warnings.length > 0) {
    text += `\n<details><summary>${result.warnings.length} warning(s) reading the bundles</summary>\n\n`;
    for (const w of result.warnings.slice(0, 10)) text += `- ${code(w.length > 200 ? w.slice(0, 200) + '…' : w)}\n`;
    text += `\n</details>\n`;
  }
  return text;
}
