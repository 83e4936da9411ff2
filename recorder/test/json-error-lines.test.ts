// A JSON error in a file the user wrote (`--input @file`, `--mcp-config`) or in a bundle being resumed names the
// line and column and V8's reason, on one line: not V8's message cut at the first newline of its quoted excerpt.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadWaitingBundle } from '../src/bundle/resume-state.ts';
import { parseInput, readMcpConfig } from '../src/cli/input.ts';
import { describeJsonError } from '../src/json-error.ts';
import { tempDir } from './recorder-support.ts';

/** `message` is one line, has the expected prefix and position, and none of V8's quoted excerpt. */
function assertLocated(message: string, prefix: string, line: number, column: number): void {
  assert.ok(message.startsWith(`${prefix}: not valid JSON (`), message);
  assert.match(message, new RegExp(`^[^\\n]*\\(\\S[^\\n]* at line ${line} column ${column}\\)$`));
  assert.doesNotMatch(message, /\.\.\."|is not valid JSON/);
}

describe('JSON errors name the line and column', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('flowtape-jsonerr-');
  });
  after(() => dir.remove());

  it('--input @file', async () => {
    // The stray comma is the 7th character of line 3.
    await writeFile(join(dir.path, 'badin.json'), '{\n "a": 1,\n "b": ,\n}\n');
    assert.throws(() => parseInput('@badin.json', dir.path), (error: Error) => {
      assertLocated(error.message, '--input @badin.json', 3, 7);
      assert.match(error.message, /\(Unexpected token ',' at line 3 column 7\)$/);
      return true;
    });
  });

  it('--input inline, over several lines', () => {
    assert.throws(() => parseInput('[1,\n2,\n]', dir.path), (error: Error) => {
      assertLocated(error.message, '--input', 3, 1);
      return true;
    });
  });

  it('--mcp-config', async () => {
    // `}` where a property name should be: line 3, column 18.
    await writeFile(join(dir.path, 'mcp.json'), '{\n  "mcpServers": [\n    {"name": "x",}\n  ]\n}\n');
    assert.throws(() => readMcpConfig('mcp.json', dir.path), (error: Error) => {
      assertLocated(error.message, '--mcp-config mcp.json', 3, 18);
      return true;
    });
  });

  it('a resumed bundle\'s manifest.json', async () => {
    const bundle = join(dir.path, 'bundle');
    await mkdir(bundle);
    // The stray comma is at column 12 of line 3.
    await writeFile(join(bundle, 'manifest.json'), '{\n  "schema": "flowtape.bundle.v1",\n  "files": ,\n}\n');
    await assert.rejects(loadWaitingBundle(bundle), (error: Error) => {
      assertLocated(error.message, join(bundle, 'manifest.json'), 3, 12);
      return true;
    });
  });

  it('the scripted agent\'s wording is unchanged: reason, then line and column', () => {
    const text = '{\n  "turns": [\n    {"match": {}, }\n  ]\n}';
    let error: unknown;
    try {
      JSON.parse(text);
    } catch (caught) {
      error = caught;
    }
    assert.equal(describeJsonError(text, error), 'Expected double-quoted property name at line 3 column 19');
  });
});

describe('describeJsonError reads the position V8 states, not one the quoted text holds', () => {
  it('"position 9" inside the text does not move the column (it said column 10)', () => {
    const text = '[x,"position 9"]';
    let error: unknown;
    try {
      JSON.parse(text);
    } catch (caught) {
      error = caught;
    }
    assert.equal(describeJsonError(text, error), "Unexpected token 'x' at line 1 column 2");
  });
});
