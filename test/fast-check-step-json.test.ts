// isPlainlyValidStepJson: verify checks the reducer's own step (whose optional keys may be set to undefined) instead of
// parsing the identical text of steps.json. It must say what isPlainlyValidStep says of that text, parsed — never
// "valid" for a step whose text zod would reject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Step, checkTraceEvent, isPlainlyValidStep, isPlainlyValidStepJson, parseNdjsonText, project, type ReducibleEvent } from '@flowtape/schema';

const samplesDir = fileURLToPath(new URL('../samples', import.meta.url));

function reducerSteps(): object[] {
  const steps: object[] = [];
  for (const name of readdirSync(samplesDir, { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    const events: ReducibleEvent[] = [];
    for (const { value, line } of parseNdjsonText(readFileSync(join(samplesDir, name.name, 'bundle', 'trace.ndjson'), 'utf8'))) {
      const checked = checkTraceEvent(value, line);
      if (checked.ok) events.push(checked.event);
    }
    const state = project(events);
    for (let i = 0; i < state.steps.size; i++) steps.push(state.steps.get(i)!);
  }
  return steps;
}

const viaText = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

test("the reducer's steps: the same verdict as their JSON text's, where the plain check of the object says no", () => {
  const steps = reducerSteps();
  assert.ok(steps.length > 10);
  let undefinedKeys = 0;
  for (const step of steps) {
    assert.equal(isPlainlyValidStepJson(step), true, JSON.stringify(step).slice(0, 200));
    assert.equal(isPlainlyValidStep(viaText(step)), true);
    if (Object.values(step).includes(undefined)) {
      undefinedKeys++;
      // The reason for the variant: a key set to undefined is a "don't know" for the plain check.
      assert.equal(isPlainlyValidStep(step), false);
    }
  }
  assert.ok(undefinedKeys > 0, 'no reducer step had an optional key set to undefined');
});

test('a step whose text is invalid is never vouched for; undefined counts as absent only in the JSON variant', () => {
  const step = viaText(reducerSteps()[0]) as Record<string, unknown>;
  const cases: Array<Record<string, unknown>> = [
    { ...step, nodeId: undefined }, // required: absent from the text
    { ...step, attempt: -1 },
    { ...step, durationMs: -5 },
    { ...step, durationMs: Number.NaN }, // null in the text
    { ...step, startedAt: new Date(0) }, // an ISO string in the text, but not a string here: "don't know"
    { ...step, extra: undefined }, // absent from the text: valid
    { ...step, output: { inline: { a: undefined } } }, // JSON values are walked as JSON: "don't know"
    { ...step, next: { to: 'x', branch: undefined } },
    { ...step, turns: [undefined] },
  ];
  for (const value of cases) {
    const textValid = Step.safeParse(viaText(value)).success;
    if (isPlainlyValidStepJson(value)) assert.ok(textValid, `vouched for an invalid text: ${JSON.stringify(value)}`);
  }
  assert.equal(isPlainlyValidStepJson({ ...step, extra: undefined }), true);
  assert.equal(isPlainlyValidStepJson({ ...step, next: { to: 'x', branch: undefined } }), true);
  assert.equal(isPlainlyValidStepJson({ ...step, nodeId: undefined }), false);
  // The variant leaves the plain check as it was (a key set to undefined: "don't know").
  assert.equal(isPlainlyValidStep({ ...step, extra: undefined }), false);
  assert.equal(isPlainlyValidStep({ ...step, next: { to: 'x', branch: undefined } }), false);
});
