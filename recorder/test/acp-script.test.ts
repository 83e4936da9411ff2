// The scripted agent's script format: a bad script is one clear line naming the file and the JSON pointer,
// with exit code 2; the shipped examples are valid.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadScript, parseScript } from '../src/agent/script-load.ts';
import { agentBin, scriptsDir, tempDir } from './acp-support.ts';

describe('scripted agent script validation', () => {
  let dir: { path: string; remove(): Promise<void> };
  before(async () => {
    dir = await tempDir('flowtape-script-');
  });
  after(() => dir.remove());

  const bad: Array<[string, string, string]> = [
    ['unknown step', '{"turns":[{"match":"hi","steps":[{"message":"a"},{"mesage":"b"}]}]}',
      'at /turns/0/steps/1: Unrecognized key: "mesage"'],
    ['two kinds in one step', '{"turns":[{"match":"hi","steps":[{"message":"a","thought":"b"}]}]}',
      'at /turns/0/steps/0: a step needs exactly one of message, thought, image, toolCall, toolCallUpdate, plan, permission, readFile, writeFile, usage, delayMs, stderr, echoEnv, garbage, raw, echoSession, error, exit, hang, stopReason (found message, thought)'],
    ['image with both path and data', '{"turns":[{"match":"hi","steps":[{"image":{"path":"a.png","data":"AA==","mimeType":"image/png"}}]}]}',
      'at /turns/0/steps/0/image: an image needs exactly one of "path" (a file, relative to the script) and "data" (base64)'],
    ['image data that is not base64', '{"turns":[{"match":"hi","steps":[{"image":{"data":"<svg>","mimeType":"image/png"}}]}]}',
      'at /turns/0/steps/0/image/data: base64 (A-Z a-z 0-9 + /, = padding)'],
    ['a request after the answer', '{"turns":[{"match":"hi","steps":[],"afterAnswer":[{"readFile":{"path":"a"}}]}]}',
      'at /turns/0/afterAnswer/0: "readFile" cannot come after the answer (only message, thought, image, toolCallUpdate, plan, usage, delayMs, stderr, raw)'],
    ['bad tool kind', '{"turns":[{"match":"hi","steps":[{"toolCall":{"toolCallId":"c","title":"t","kind":"write"}}]}]}',
      'at /turns/0/steps/0/toolCall/kind: Invalid option: expected one of "read"|"edit"|"delete"|"move"|"search"|"execute"|"think"|"fetch"|"switch_mode"|"other"'],
    ['bad regex', '{"turns":[{"match":{"regex":"(unclosed"},"steps":[]}]}',
      'at /turns/0/match/regex: invalid regular expression: Invalid regular expression: /(unclosed/: Unterminated group'],
    ['nested branch', '{"turns":[{"match":"hi","steps":[{"permission":{"toolCallId":"c","ifRejected":[{"exit":"3"}]}}]}]}',
      'at /turns/0/steps/0/permission/ifRejected/0/exit: Invalid input: expected number, received string'],
    ['unreachable step', '{"turns":[{"match":"hi","steps":[{"hang":true},{"message":"never"}]}]}',
      'at /turns/0/steps/1: unreachable step: the "hang" step before it ends the turn'],
    ['sessionNew without error', '{"sessionNew":{"eror":{"code":1,"message":"x"}}}',
      'at /sessionNew: Unrecognized key: "eror" (and 1 more problem)'],
    ['an env_var auth method without vars', '{"authMethods":[{"id":"k","name":"Key","type":"env_var"}]}',
      'at /authMethods/0/vars: an env_var method needs "vars": [{ "name": "…" }]'],
    ['an auth method listed twice', '{"authMethods":[{"id":"k","name":"Key"},{"id":"k","name":"Again"}]}',
      'at /authMethods/1/id: auth method id "k" is listed twice'],
    ['not JSON', '{\n  "turns": [\n    {"match": "hi", "steps": [],}\n  ]\n}',
      'not valid JSON (Expected double-quoted property name at line 3 column 33)'],
  ];

  for (const [name, text, expected] of bad) {
    it(`rejects a script with ${name}`, () => {
      assert.throws(() => parseScript(text, 'my-script.json'), { name: 'ScriptError', message: `invalid script my-script.json ${expected}`.replace('my-script.json not', 'my-script.json: not') });
    });
  }

  it('exits with code 2 and one line naming the file and pointer', async () => {
    const file = join(dir.path, 'broken.json');
    await writeFile(file, '{"turns":[{"match":"hi","steps":[{"delayMs":-5}]}]}');
    const result = spawnSync(process.execPath, [agentBin, '--script', file], { encoding: 'utf8', input: '' });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `flowtape-scripted-agent: invalid script ${file} at /turns/0/steps/0/delayMs: Too small: expected number to be >=0\n`);
  });

  it('exits with code 2 when no script is given, or the option is unknown', () => {
    const none = spawnSync(process.execPath, [agentBin], { encoding: 'utf8', input: '', env: { ...process.env, FLOWTAPE_AGENT_SCRIPT: '' } });
    assert.equal(none.status, 2);
    assert.equal(none.stderr, 'flowtape-scripted-agent: no script given: use --script <file.json> or set FLOWTAPE_AGENT_SCRIPT\n');
    const unknown = spawnSync(process.execPath, [agentBin, '--scrpt', 'x.json'], { encoding: 'utf8', input: '' });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^flowtape-scripted-agent: Unknown option '--scrpt'.*\n$/);
  });

  it('exits with code 0 when the client closes stdin', () => {
    const result = spawnSync(process.execPath, [agentBin, '--script', join(scriptsDir, 'auth-required.json')], { encoding: 'utf8', input: '' });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '');
  });

  it("reads an image step's file relative to the script, and names the step when the file is missing", async () => {
    await writeFile(join(dir.path, 'dot.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const good = join(dir.path, 'image.json');
    await writeFile(good, '{"turns":[{"match":"hi","steps":[{"image":{"path":"dot.png","mimeType":"image/png"}}]}]}');
    assert.deepEqual((await loadScript(good)).turns[0]!.steps[0]!.image, { path: undefined, data: 'iVBORw==', mimeType: 'image/png' });
    const missing = join(dir.path, 'missing-image.json');
    await writeFile(missing, '{"fallback":{"steps":[{"message":"a"}],"afterAnswer":[{"image":{"path":"gone.png","mimeType":"image/png"}}]}}');
    await assert.rejects(loadScript(missing), { name: 'ScriptError', message: `invalid script ${missing} at /fallback/afterAnswer/0/image/path: cannot read ${join(dir.path, 'gone.png')}: no such file` });
  });

  it('accepts every example script and the one in SCRIPTED_AGENT.md', async () => {
    const examples = readdirSync(scriptsDir).filter((f) => f.endsWith('.json'));
    assert.ok(examples.length >= 3);
    for (const name of examples) await loadScript(join(scriptsDir, name));
    const doc = await readFile(new URL('../SCRIPTED_AGENT.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length > 0, 'SCRIPTED_AGENT.md has a json example');
    const complete = blocks.find((b) => b.includes('"turns"'));
    assert.ok(complete, 'SCRIPTED_AGENT.md has a complete script');
    parseScript(complete, 'SCRIPTED_AGENT.md');
  });
});
