import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffBundles } from '../src/tools/diff.ts';
import { formatMarkdown, formatText, IgnoreRules } from '@flowtape/schema/diff';
import { BundleBuilder } from '../../test/fixtures/bundle-builder.ts';
import { draftReviewFlow, writeLargeBundle } from '../../test/fixtures/scenarios.ts';

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowtape-diff-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Variant {
  runId?: string;
  sessionId?: string;
  verdict?: string;
  prompt?: string;
  reply?: string;
  report?: string;
}

/** The review loop: draft → review (ACP) → done, or → fix → review → done when the verdict is `reject`. */
async function reviewRun(dir: string, v: Variant = {}): Promise<string> {
  const flow = draftReviewFlow();
  if (v.prompt) Object.assign(flow.nodes[1]!, { promptSource: v.prompt });
  const f = new BundleBuilder(dir, flow, { runId: v.runId ?? 'run-1' });
  const sessionId = v.sessionId ?? 'sess-1';
  const verdict = v.verdict ?? 'approve';
  f.runStarted({ topic: 'tests' }, { cwd: dir });
  f.node('draft', { output: { file: `${dir}/draft.md` }, artifacts: { report: v.report ?? 'line one\nline two\nline three\n' }, next: { to: 'review' } });
  f.node('review', {
    output: { verdict },
    turn: { sessionId, prompt: 'Review the draft', chunks: ['Looks ', v.reply ?? 'fine'], toolCall: { id: `call-${sessionId}`, title: 'read draft.md' } },
    next: { to: verdict === 'approve' ? 'done' : 'fix', branch: { on: '$.verdict', value: verdict, caseKey: verdict } },
  });
  if (verdict !== 'approve') {
    f.node('fix', { output: 'fixed', next: { to: 'review' } });
    f.node('review', {
      output: { verdict: 'approve' },
      turn: { sessionId, prompt: 'Review again', chunks: ['ok'] },
      next: { to: 'done', branch: { on: '$.verdict', value: 'approve', caseKey: 'approve' } },
    });
  }
  f.node('done', { output: 'shipped' });
  f.runCompleted('shipped');
  return f.finish();
}

test('two runs that differ only in volatile values (run id, cwd, session ids, tool call ids, times) are the same', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'));
  const b = await reviewRun(join(root, 'b-other-place'), { runId: 'run-2', sessionId: 'sess-xyz' });
  const result = await diffBundles(a, b);
  assert.equal(result.total, 0, formatText(result));
  assert.equal(result.same, true);
  assert.match(formatText(result), /no differences/);
});

test('a changed verdict is named by node, attempt and field, with the path, the edge and the conversation', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'));
  const b = await reviewRun(join(root, 'b'), { verdict: 'reject', reply: 'wrong' });
  const result = await diffBundles(a, b);
  assert.equal(result.same, false);
  const find = (path: string) => result.differences.find((d) => d.path === path);
  const verdict = find('/attempts/review#1/output/verdict');
  assert.ok(verdict, formatText(result));
  assert.deepEqual([verdict.nodeId, verdict.attemptId, verdict.a, verdict.b], ['review', 'review#1', 'approve', 'reject']);
  assert.deepEqual([find('/attempts/review#1/next/to')?.a, find('/attempts/review#1/next/to')?.b], ['done', 'fix']);
  assert.equal(find('/attempts/review#1/next/branch/caseKey')?.b, 'reject');
  const hunk = result.differences.find((d) => d.section === 'path' && d.path.startsWith('/path/'));
  assert.deepEqual(hunk?.b, ['fix#1', 'review#2']);
  assert.match(hunk?.note ?? '', /after review#1/);
  assert.equal(find('/attempts/fix#1')?.kind, 'added');
  assert.equal(find('/nodes/review/attempts')?.b, 2);
  // The conversation, turn by turn: the first turn's answer changed, the second review's turn is only in b.
  assert.equal(find('/sessions/main/turns/0/messages/2/text')?.b, 'Looks wrong');
  assert.deepEqual([find('/sessions/main/turns/b1')?.kind, find('/sessions/main/turns/b1')?.b], ['added', 'Review again']);
  const text = formatText(result);
  assert.match(text, /node review · attempt review#1\n(?:.*\n)*? {2}~ \/output\/verdict: "approve" → "reject"/);
  assert.match(text, /path taken\n {2}\+ after review#1 \(step 3 in a, 3 in b\): a: — \| b: fix#1 → review#2/);
});

test('flow definition changes are keyed by node id and edge', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'));
  const b = await reviewRun(join(root, 'b'), { prompt: 'Review carefully: {{draft}}' });
  const result = await diffBundles(a, b);
  assert.equal(result.total, 1, formatText(result));
  assert.deepEqual(result.differences[0], {
    section: 'flow',
    kind: 'changed',
    path: '/flow/nodes/review/promptSource',
    a: 'Review: {{draft}}',
    b: 'Review carefully: {{draft}}',
  });
});

test('artifacts are compared by content, after normalisation, and a text change names its line', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'), { report: `built in ${join(root, 'a')}/out\nsecond\n` });
  const same = await reviewRun(join(root, 'b'), { report: `built in ${join(root, 'b')}/out\nsecond\n` });
  const changed = await reviewRun(join(root, 'c'), { report: `built in ${join(root, 'c')}/out\nSECOND\n` });
  assert.equal((await diffBundles(a, same)).total, 0);
  const result = await diffBundles(a, changed);
  assert.equal(result.total, 1, formatText(result));
  const [diff] = result.differences;
  assert.equal(diff?.section, 'artifact');
  assert.equal(diff?.path, '/attempts/draft#1/artifacts/report');
  assert.equal(diff?.note, 'line 2');
  assert.deepEqual([diff?.a, diff?.b], ['second', 'SECOND']);
});

test('--ignore takes JSON pointers and globs', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'));
  const b = await reviewRun(join(root, 'b'), { verdict: 'reject', prompt: 'Other' });
  const all = await diffBundles(a, b);
  const ignored = await diffBundles(a, b, { ignore: ['/flow', '/attempts/review#1/output', '**/next', 'sessions/*', '/path', '/nodes/*', '/attempts/*#*/turns', '/attempts/fix#1', '/attempts/review#2'] });
  assert.ok(all.total > 5);
  assert.equal(ignored.total, 0, formatText(ignored));
  const rules = new IgnoreRules(['/a/b', '*Id', '/x/**/z']);
  assert.equal(rules.matches('/a/b/c'), true);
  assert.equal(rules.matches('/a/bc'), false);
  assert.equal(rules.matches('/deep/toolCallId'), true);
  assert.equal(rules.matches('/x/1/2/z/3'), true);
  assert.equal(rules.matches('/x/1/2/y'), false);
});

/** Rewrites the binding of a bundle's one session with `fields` (what a run with other session options records). */
async function rebind(bundle: string, fields: Record<string, unknown>): Promise<void> {
  const file = join(bundle, 'sessions', 'sess-1', 'binding.json');
  await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as object), ...fields }));
}

test("a session's MCP servers and auth method are behaviour: compared by server name, in any order", async (t) => {
  const root = await scratch(t);
  const files = { name: 'files', transport: 'stdio', command: '/usr/local/bin/mcp-files', args: ['--root', '.'], env: [{ name: 'TOKEN', value: '[redacted:TOKEN]' }] };
  const github = { name: 'github', transport: 'http', url: 'https://mcp.example.com/github', headers: [] };
  const a = await reviewRun(join(root, 'a'));
  await rebind(a, { mcpServers: [files, github], authMethodId: 'api-key' });
  const same = await reviewRun(join(root, 'same'));
  await rebind(same, { mcpServers: [github, files], authMethodId: 'api-key' });
  assert.equal((await diffBundles(a, same)).total, 0, 'the order servers are listed in is not behaviour');

  const b = await reviewRun(join(root, 'b'));
  await rebind(b, { mcpServers: [{ ...files, args: ['--root', '/'] }, { name: 'notes', transport: 'sse', url: 'http://127.0.0.1:9/sse', headers: [] }], authMethodId: 'chatgpt' });
  const result = await diffBundles(a, b);
  const found = result.differences.map((d) => [d.section, d.kind, d.path, d.session]);
  assert.deepEqual(found, [
    ['session', 'changed', '/sessions/main/binding/authMethodId', 'main'],
    ['session', 'changed', '/sessions/main/binding/mcpServers/files/args/1', 'main'],
    ['session', 'removed', '/sessions/main/binding/mcpServers/github', 'main'],
    ['session', 'added', '/sessions/main/binding/mcpServers/notes', 'main'],
  ], formatText(result));
  const text = formatText(result);
  assert.match(text, /session main\n\s+~ \/binding\/authMethodId: "api-key" → "chatgpt"/);
  assert.match(text, /- \/binding\/mcpServers\/github: only in a: \{"transport":"http"/);
  assert.match(text, /\+ \/binding\/mcpServers\/notes: only in b: \{"transport":"sse"/);

  // No servers on one side, none (absent) on the other: the same; servers only in b: added, as a whole.
  const none = await reviewRun(join(root, 'none'));
  await rebind(none, { mcpServers: [] });
  const plain = await reviewRun(join(root, 'plain'));
  assert.equal((await diffBundles(plain, none)).total, 0);
  const added = await diffBundles(plain, a);
  assert.deepEqual(added.differences.map((d) => [d.kind, d.path]), [
    ['added', '/sessions/main/binding/authMethodId'],
    ['added', '/sessions/main/binding/mcpServers'],
  ]);
});

test('a torn last line is a warning, not an error; a broken manifest is an error naming the file', async (t) => {
  const root = await scratch(t);
  const a = await reviewRun(join(root, 'a'));
  const b = await reviewRun(join(root, 'b'));
  await appendFile(join(b, 'trace.ndjson'), '{"seq":99,"at":"2026-01');
  const result = await diffBundles(a, b);
  assert.equal(result.total, 0);
  assert.match(result.warnings.join('\n'), /b: trace\.ndjson:\d+: torn last line/);
  await writeFile(join(b, 'manifest.json'), '{"schema":"flowtape.bundle.v1"');
  await assert.rejects(diffBundles(a, b), /manifest\.json: not valid JSON/);
  await assert.rejects(diffBundles(a, join(root, 'nope')), /nope: no such bundle/);
});

test('large bundles: one changed attempt among thousands is found; markdown stays under 64 KB', async (t) => {
  const root = await scratch(t);
  const a = join(root, 'a');
  const b = join(root, 'b');
  await writeLargeBundle(a, 10_000, 0);
  await writeLargeBundle(b, 10_000, 1);
  const result = await diffBundles(a, b);
  assert.equal(result.total, 1, formatText(result));
  assert.equal(result.differences[0]?.path, '/attempts/step#1667/output/text');
  assert.equal(result.a.events, 10_000);

  // Every attempt differs: thousands of differences, counted in full, kept and rendered in part.
  const c = join(root, 'c');
  const flowChange = JSON.parse(await readFile(join(a, 'flow.json'), 'utf8'));
  await writeLargeBundle(c, 3_000, 0);
  await writeFile(join(c, 'flow.json'), JSON.stringify({ ...flowChange, name: 'renamed' }));
  const many = await diffBundles(a, c, { maxDetails: 500 });
  assert.ok(many.total > 2000, String(many.total));
  // 500 details (attempts) plus the summary sections (flow, path, run), which have their own allowance.
  assert.equal(many.differences.filter((d) => d.section === 'attempt').length, 500);
  assert.ok(many.differences.some((d) => d.section === 'flow' && d.path === '/flow/name'));
  assert.ok(many.differences.some((d) => d.section === 'path'));
  assert.equal(many.omitted, many.total - many.differences.length);
  const md = formatMarkdown(many);
  assert.ok(Buffer.byteLength(md) < 64 * 1024, String(Buffer.byteLength(md)));
  assert.match(md, /more differences not shown/);
});

test('the path differ reports one hunk per divergence, however long, holding only its ends', async () => {
  const { PathDiffer, hunkIds } = await import('@flowtape/schema/diff');
  const run = (a: string[], b: string[]) => {
    const hunks: Array<{ after?: string; atA: number; atB: number; a: string[]; b: string[]; counts: [number, number] }> = [];
    const differ = new PathDiffer((h) => hunks.push({ after: h.after, atA: h.atA, atB: h.atB, a: hunkIds(h.removed), b: hunkIds(h.added), counts: [h.removed.count, h.added.count] }), 8);
    // Fed in lockstep, as diffBundles does.
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) differ.pushA(a[i]!);
      else differ.doneA = true;
      if (i < b.length) differ.pushB(b[i]!);
      else differ.doneB = true;
    }
    differ.finish();
    return hunks;
  };
  const steps = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `s#${from + i}`);
  assert.deepEqual(run([...steps(5), 'e#1'], [...steps(5), 'e#1']), []);
  assert.deepEqual(run([...steps(3), 'e#1'], [...steps(500), 'e#1']), [
    { after: 's#3', atA: 3, atB: 3, a: [], b: ['s#4', 's#5', 's#6', 's#7', 's#8', 's#9', '… 489 more …', 's#499', 's#500'], counts: [0, 497] },
  ]);
  assert.deepEqual(run(['a#1', 'x#1', 'b#1', 'c#1'], ['a#1', 'b#1', 'y#1', 'c#1']), [
    { after: 'a#1', atA: 1, atB: 1, a: ['x#1'], b: [], counts: [1, 0] },
    { after: 'b#1', atA: 3, atB: 2, a: [], b: ['y#1'], counts: [0, 1] },
  ]);
});
