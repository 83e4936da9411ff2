// The `acpx/flows` entry (src/acpx-flows.ts): it exports every name a flow imports from acpx's real `acpx/flows`,
// its authoring functions are flowtape's runtime, and its JSON helpers behave like acpx's — checked by running
// acpx 0.19 (a devDependency) and flowtape on the same inputs, not by a hand-written expectation alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as acpx from 'acpx/flows';
import * as runtime from '../src/runtime/index.ts';
import * as flows from '../src/acpx-flows.ts';
import { extractJsonObject, parseJsonObject, parseStrictJsonObject, type JsonObjectParseMode } from '../src/runtime/json-output.ts';

/** acpx exports that a flow file has no use for under flowtape (see the header of src/acpx-flows.ts). */
const NOT_PROVIDED = new Set(['FlowRunner', 'flowRunsBaseDir']);

type Outcome = { value: unknown } | { error: 'empty' | 'unparseable' | 'other'; message: string };

function outcome(run: () => unknown): Outcome {
  try {
    return { value: run() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'Expected JSON output, got empty text') return { error: 'empty', message };
    if (message.startsWith('Could not parse JSON from assistant output')) return { error: 'unparseable', message };
    return { error: 'other', message };
  }
}

/** Compares flowtape's and acpx's outcome on one input: same value, or the same kind of error. */
function assertSameAsAcpx(text: unknown, mode: string | undefined, label = describeInput(text)): Outcome {
  const options = mode === undefined ? undefined : { mode: mode as JsonObjectParseMode };
  const ours = outcome(() => parseJsonObject(text, options));
  const theirs = outcome(() => acpx.parseJsonObject(text as string, options));
  const where = `${label} (mode ${mode ?? 'default'})`;
  if ('value' in theirs) {
    assert.ok('value' in ours, `${where}: acpx returned ${JSON.stringify(theirs.value)}, flowtape threw ${'message' in ours ? ours.message : ''}`);
    assert.deepEqual(ours.value, theirs.value, where);
  } else {
    const returned = 'value' in ours ? JSON.stringify(ours.value) : '';
    assert.ok('error' in ours, `${where}: acpx threw (${theirs.message.slice(0, 80)}), flowtape returned ${returned}`);
    assert.equal(ours.error, theirs.error, `${where}: ${ours.message} vs ${theirs.message.slice(0, 80)}`);
    assert.doesNotMatch(ours.message, /\n/, `${where}: the error is one line`);
  }
  return ours;
}

function describeInput(text: unknown): string {
  if (typeof text === 'string') return text.length > 60 ? `${JSON.stringify(text.slice(0, 60))}… (${text.length} chars)` : JSON.stringify(text);
  if (typeof text === 'bigint') return `${text}n`;
  return typeof text === 'symbol' ? text.toString() : `${typeof text} ${String(text)}`;
}

const FENCE = '```';
const MODES = [undefined, 'strict', 'fenced', 'compat', 'loose'] as const;

/** Inputs of every shape the helpers meet, with what `compat` (the default) gives; strict/fenced are compared to acpx. */
const TABLE: Array<[input: unknown, compat: unknown | 'throws']> = [
  // bare JSON: any value, not only objects
  ['{"a": 1, "b": [true, null]}', { a: 1, b: [true, null] }],
  ['  \n{"a": 1}\n\t ', { a: 1 }],
  ['\uFEFF{"bom": true}\u00A0', { bom: true }],
  ['[1, 2, 3]', [1, 2, 3]],
  ['[]', []],
  ['42', 42],
  ['"a string"', 'a string'],
  ['null', null],
  ['true', true],
  // fences
  [`${FENCE}json\n{"a": 1}\n${FENCE}`, { a: 1 }],
  [`${FENCE}JSON\r\n[1]\r\n${FENCE}`, [1]],
  [`${FENCE}\n{"plain": "fence"}\n${FENCE}`, { plain: 'fence' }],
  [`${FENCE} json {"same": "line"} ${FENCE}`, { same: 'line' }],
  [`Here you go:\n${FENCE}json\n{"verdict": "ship"}\n${FENCE}\nThanks!`, { verdict: 'ship' }],
  [`${FENCE}json{"a": 1}${FENCE}`, { a: 1 }], // no blank after the tag: the fence fails, the prose scan finds it
  [`${FENCE}jsonc\n{"a": 2}\n${FENCE}`, { a: 2 }],
  [`${FENCE}json\u00A0{"a": 3}${FENCE}`, { a: 3 }], // only space, tab, CR, LF end the tag: fenced mode refuses this
  [`${FENCE}json\n{"a": 1,}\n${FENCE} then {"b": 2}`, { b: 2 }],
  [`${FENCE}json\n"fenced string"\n${FENCE}`, 'fenced string'],
  [`${FENCE}json\n{"unclosed": true}`, { unclosed: true }],
  [`${FENCE}\n${FENCE}`, 'throws'],
  [`${FENCE}json\nnot json\n${FENCE}`, 'throws'],
  [`two fences ${FENCE}\nnope\n${FENCE} ${FENCE}json\n{"second": 1}\n${FENCE}`, { second: 1 }],
  // JSON embedded in prose
  ['The verdict: {"verdict": "ship", "why": "tests pass"} — done.', { verdict: 'ship', why: 'tests pass' }],
  ['Result: [1, {"a": [2]}] and more', [1, { a: [2] }]],
  ['note [see above] then {"a": 1}', { a: 1 }],
  ['citation [1] first, then {"a": 1}', [1]],
  ['braces in strings {"s": "} ] {", "t": "\\"}"} tail', { s: '} ] {', t: '"}' }],
  ['mismatched { ] } then {"ok": true}', { ok: true }],
  ['{not json} then {"a": 1}', { a: 1 }],
  ['quotes inside strings: {"it\'s": "a \'quote\'"}', { "it's": "a 'quote'" }],
  ['{"outer": {"inner": {}}} {"second": 1}', { outer: { inner: {} } }],
  ['prefix {"a": "unterminated}', 'throws'],
  ['{', 'throws'],
  ['}{', 'throws'],
  ['[[[', 'throws'],
  ['just prose, no JSON at all', 'throws'],
  ['{"a": 1} trailing', { a: 1 }],
  // empty text
  ['', 'throws'],
  ['   \n\t ', 'throws'],
  // not a string: scalars are stringified, anything else is empty
  [undefined, 'throws'],
  [null, 'throws'],
  [42, 42],
  [-0, 0],
  [true, true],
  [10n, 10],
  [Number.NaN, 'throws'],
  [Symbol('x'), 'throws'],
  [{ a: 1 }, 'throws'],
  [['{"a": 1}'], 'throws'],
  [() => '{}', 'throws'],
];

describe('acpx/flows JSON helpers', () => {
  it('return the JSON value in the text, or throw, as the table says', () => {
    for (const [input, expected] of TABLE) {
      const got = outcome(() => extractJsonObject(input));
      if (expected === 'throws') assert.ok('error' in got, `${describeInput(input)} should throw`);
      else assert.deepEqual(got, { value: expected }, describeInput(input));
      assert.deepEqual(outcome(() => parseJsonObject(input)), got, `${describeInput(input)}: compat is the default mode`);
    }
  });

  it('strict mode takes the whole text only: fenced and embedded JSON are refused', () => {
    assert.deepEqual(parseStrictJsonObject(' {"a": 1} '), { a: 1 });
    assert.deepEqual(parseStrictJsonObject('[1]'), [1]);
    for (const text of [`${FENCE}json\n{"a": 1}\n${FENCE}`, 'The verdict: {"a": 1}']) {
      assert.throws(() => parseStrictJsonObject(text), /^Error: Could not parse JSON from assistant output/);
      assert.throws(() => parseJsonObject(text, { mode: 'strict' }), /Could not parse JSON/);
    }
    assert.deepEqual(parseJsonObject(`${FENCE}json\n{"a": 1}\n${FENCE}`, { mode: 'fenced' }), { a: 1 });
    assert.throws(() => parseJsonObject('The verdict: {"a": 1}', { mode: 'fenced' }), /Could not parse JSON/);
  });

  it('throws one-line errors: empty text, and unparseable text quoted and cut short', () => {
    assert.throws(() => extractJsonObject(''), { message: 'Expected JSON output, got empty text' });
    assert.throws(() => extractJsonObject(undefined), { message: 'Expected JSON output, got empty text' });
    const long = `no json here\n${'x'.repeat(5_000)}`;
    const error = outcome(() => extractJsonObject(long));
    assert.ok('error' in error && error.error === 'unparseable');
    assert.doesNotMatch(error.message, /\n/);
    assert.ok(error.message.length < 300, error.message);
    assert.match(error.message, /"no json here\\nxxx.*… \(5013 characters\)$/);
  });

  it('behave like acpx on every table input, in every mode (including an unknown one)', () => {
    for (const [input] of TABLE) for (const mode of MODES) assertSameAsAcpx(input, mode);
  });

  it('behave like acpx on generated texts (seeded), in every mode', () => {
    let seed = 0x5eed;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pieces = ['{', '}', '[', ']', '"', '\\', ':', ',', ' ', '\n', '\t', '1', 'a', 'x', "'", '\u00e9', '\uFEFF'];
    pieces.push('json', 'JSON', FENCE, '{"k": 1}', '[2]', '"s"', 'null');
    for (let i = 0; i < 3_000; i++) {
      let text = '';
      const count = random(24);
      for (let j = 0; j < count; j++) text += pieces[random(pieces.length)];
      for (const mode of MODES) assertSameAsAcpx(text, mode);
    }
  });

  it('stay bounded on hostile long text, and agree with acpx there too', () => {
    const size = 200_000;
    const hostile = [
      '{'.repeat(size),
      '['.repeat(size),
      '{"a":'.repeat(size / 5),
      `{"${'\\'.repeat(size)}`,
      '"'.repeat(size),
      '{}'.repeat(size / 2).replaceAll('}{', '},{'),
      `${'{'.repeat(size)} {"late": 1}`,
      `${'[x'.repeat(size / 2)} {"late": 1}`,
      `${FENCE.repeat(size / 3)}`,
      `${'{] '.repeat(size / 3)}{"late": 1}`,
    ];
    for (const text of hostile) {
      // Each completes (returns or throws); no timing assertion, a quadratic scan would hang the test instead.
      const ours = assertSameAsAcpx(text, 'compat');
      assert.ok('value' in ours || 'error' in ours);
      assertSameAsAcpx(text, 'fenced');
    }
  });

  it('agree with acpx where the work budget runs out: a valid object after many dead starts', () => {
    // Every `{` before the object starts a scan that never closes; after about 8 of them the budget is gone.
    let found = 0;
    for (let dead = 0; dead <= 20; dead++) {
      for (const filler of [0, 10, 100]) {
        const text = `${'{'.repeat(dead)}${'x'.repeat(filler)} {"a": 1}`;
        if ('value' in assertSameAsAcpx(text, 'compat', `${dead} dead starts, ${filler} filler`)) found++;
      }
    }
    assert.ok(found > 0 && found < 63, `both outcomes occur in the sweep (found ${found} of 63)`);
    // A balanced but invalid span bigger than what is left ends the search, even if a small object follows.
    for (let dead = 0; dead <= 12; dead++) {
      for (const length of [50, 100, 200, 400]) {
        assertSameAsAcpx(`${'{'.repeat(dead)} {${'x'.repeat(length)}} {"a": 1}`, 'compat', `${dead} dead starts, a ${length}-char invalid span`);
      }
    }
  });
});

describe('acpx/flows entry', () => {
  it('exports every name of acpx/flows a flow uses', () => {
    const theirs = Object.keys(acpx).filter((name) => !NOT_PROVIDED.has(name));
    const ours = new Set(Object.keys(flows));
    assert.deepEqual(theirs.filter((name) => !ours.has(name)), [], 'acpx/flows names missing from src/acpx-flows.ts');
    assert.deepEqual([...ours].filter((name) => !(name in acpx)).sort(), [], 'no names beyond acpx/flows');
    for (const name of NOT_PROVIDED) assert.ok(name in acpx, `${name} is still an acpx/flows export (else drop it from NOT_PROVIDED)`);
  });

  it('authoring functions are flowtape\'s runtime; the JSON helpers have acpx semantics', () => {
    for (const name of ['acp', 'action', 'checkpoint', 'compute', 'decision', 'decisionEdge', 'defineFlow', 'shell'] as const) {
      assert.equal(flows[name], runtime[name], name);
    }
    assert.equal(flows.extractJsonObject, extractJsonObject);
    assert.notEqual(flows.extractJsonObject, runtime.extractJsonObject);
    assert.equal(runtime.extractJsonObject('no json'), undefined, 'flowtape\'s own helper keeps returning undefined');
    assert.throws(() => flows.extractJsonObject('no json'), /Could not parse JSON/);
    assert.deepEqual(flows.extractJsonObject('[1]'), [1]);
  });

  it('defines a typical acpx flow (the acpx skill\'s example), with the same decision edge as acpx', () => {
    const choices = ['bug', 'feat', 'doc'] as const;
    const cases = { bug: 'bug_lane', feat: 'feat_lane', doc: 'doc_lane' };
    const edge = flows.decisionEdge({ from: 'classify', choices, cases });
    assert.deepEqual(edge, acpx.decisionEdge({ from: 'classify', choices, cases }));
    const run: flows.FlowRunDefinition<{ description: string }> = { title: ({ input }) => `triage: ${input.description}` };
    const permissions: flows.FlowPermissionRequirements = { requiredMode: 'approve-reads' };
    const definition: flows.FlowDefinition = {
      name: 'pr-triage',
      run,
      permissions,
      startAt: 'classify',
      nodes: {
        classify: flows.decision({
          choices,
          question: ({ input }: flows.FlowNodeContext<{ description: string }>) => `Classify: ${input.description}`,
        }),
        bug_lane: flows.acp({
          prompt: ({ outputs }) => `Write a regression test.\n${JSON.stringify(outputs.classify)}`,
          parse: (text) => flows.extractJsonObject(text),
          session: { handle: 'main' },
          timeoutMs: 60_000,
        }),
        feat_lane: flows.acp({ prompt: () => 'List acceptance criteria.' }),
        doc_lane: flows.checkpoint({
          summary: 'doc change — needs human review',
          run: ({ outputs }) => ({ route: 'doc', note: outputs.classify }),
        }),
        tests: flows.shell({ exec: () => ({ command: 'npm', args: ['test'], allowNonZeroExit: true }) }),
        report: flows.action({ run: async ({ runShell }) => (await runShell({ command: 'true' })).exitCode }),
        sum: flows.compute({ run: ({ outputs }) => Object.keys(outputs).length }),
      },
      edges: [edge, { from: 'bug_lane', to: 'tests' }, { from: 'tests', to: 'report' }, { from: 'report', to: 'sum' }],
    };
    assert.equal(flows.defineFlow(definition), definition);
    assert.ok(runtime.isDefinedFlow(definition));
    assert.equal(flows.checkpoint().nodeType, 'checkpoint');
  });
});
