// CI use of the bundle tools on this repository's own samples: every sample, regenerated in deterministic mode,
// diffs as the same as its committed bundle; a deliberate change to a sample's agent script shows up as a
// readable diff naming the node and the field; packing and verifying the samples round-trips.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { record } from '@flowtape/recorder';
import { agentCommandFor, loadSampleFlow, recordSample, sampleDir, samples, scriptedAgentBin } from '../samples/catalog.ts';
import { diffBundles } from '../recorder/src/tools/diff.ts';
import { formatMarkdown, formatText } from '@flowtape/schema/diff';
import { packBundle } from '../recorder/src/tools/pack.ts';
import { verifyBundle } from '../recorder/src/tools/verify.ts';

let scratch = '';
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'flowtape-samples-diff-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const committed = (name: string) => join(sampleDir(samples.find((s) => s.name === name)!), 'bundle');

for (const spec of samples) {
  test(`sample ${spec.name}: regenerated deterministically, it diffs as the same as the committed bundle`, async () => {
    const fresh = join(scratch, 'regen', spec.name);
    await recordSample(spec, fresh);
    const result = await diffBundles(committed(spec.name), fresh);
    assert.equal(result.total, 0, formatText(result));
    assert.deepEqual(result.warnings, []);
  });
}

test('a changed reply in the conversation sample\'s agent script is named by node, attempt and field', async () => {
  const spec = samples.find((s) => s.name === 'conversation')!;
  const script = JSON.parse(await readFile(join(sampleDir(spec), spec.agentScript!), 'utf8')) as {
    turns: Array<{ name: string; steps: Array<Record<string, unknown>> }>;
  };
  const summarise = script.turns.find((t) => t.name === 'summarise')!;
  const message = summarise.steps.find((s) => typeof s.message === 'string')!;
  const before = message.message as string;
  message.message = before.replace('ship on Friday', 'ship on Monday');
  assert.notEqual(message.message, before);
  const changedScript = join(scratch, 'changed-agent.json');
  await writeFile(changedScript, JSON.stringify(script));

  // Recorded exactly as the sample is (recordSample's options), with the changed script.
  const bundleDir = join(scratch, 'changed-conversation');
  const original = agentCommandFor(spec)!;
  assert.equal(original.at(-1), join(sampleDir(spec), spec.agentScript!));
  await record(await loadSampleFlow(spec), spec.input, {
    cwd: sampleDir(spec),
    deterministic: true,
    agentCommand: [process.execPath, scriptedAgentBin, '--script', changedScript],
    permissionPolicy: spec.permission,
    bundleDir,
    flowFile: join(sampleDir(spec), spec.flowFile),
  });

  // The script's own path is in the session binding; the behaviour is what this test is about.
  const result = await diffBundles(committed('conversation'), bundleDir, { ignore: ['/sessions/*/binding/agentCommand'] });
  assert.equal(result.same, false);
  const summary = result.differences.find((d) => d.path === '/attempts/summarise#1/output/summary');
  assert.ok(summary, formatText(result));
  assert.equal(summary.nodeId, 'summarise');
  assert.match(String(summary.a), /ship on Friday/);
  assert.match(String(summary.b), /ship on Monday/);
  // The prompt of the next node quotes the summary: the change propagates, and the diff shows where.
  assert.ok(result.differences.some((d) => d.attemptId === 'write#1' && d.path.includes('/turns/0/prompt')), formatText(result));
  assert.ok(result.differences.some((d) => d.section === 'session' && d.path.endsWith('/text') && String(d.b).includes('Monday')));
  // The path taken did not change.
  assert.equal(result.counts.path, 0, formatText(result));

  const text = formatText(result);
  assert.match(text, /node summarise · attempt summarise#1\n(?:.*\n)*? {2}~ \/output\/summary: ".*Friday.*" → ".*Monday.*"/);
  const markdown = formatMarkdown(result);
  assert.match(markdown, /#### node summarise · attempt summarise\\#1/);
  assert.match(markdown, /\*\*changed\*\* `\/output\/summary`/);
});

test('every sample packs into a zip that diffs as the same and verifies', async () => {
  for (const spec of samples) {
    const zip = join(scratch, `${spec.name}.flowtape.zip`);
    const report = await packBundle(committed(spec.name), { output: zip });
    assert.deepEqual(report.missing, []);
    const result = await diffBundles(committed(spec.name), zip);
    assert.equal(result.total, 0, formatText(result));
    const verify = await verifyBundle(committed(spec.name));
    assert.deepEqual(verify.problems, [], spec.name);
  }
});
