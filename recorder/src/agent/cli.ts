#!/usr/bin/env node
// Process entry of `flowtape-scripted-agent`: reads the script, then serves ACP over stdio.
// Exit codes: 0 when the client closes stdin, 2 for usage or script errors, or whatever an `exit` step says.
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ndJsonStream } from '@agentclientprotocol/sdk';
import { loadScript, ScriptError } from './script-load.ts';
import { startScriptedAgent } from './scripted-agent.ts';

const usage = `Usage: flowtape-scripted-agent --script <file.json>
A scripted ACP agent over stdio (JSON-RPC, one message per line). The script may also be given with the
FLOWTAPE_AGENT_SCRIPT environment variable. Format: recorder/SCRIPTED_AGENT.md.`;

function fail(message: string): never {
  process.stderr.write(`flowtape-scripted-agent: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { script?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ options: { script: { type: 'string', short: 's' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    fail(`${(error as Error).message} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const file = values.script ?? process.env['FLOWTAPE_AGENT_SCRIPT'];
  if (!file) fail('no script given: use --script <file.json> or set FLOWTAPE_AGENT_SCRIPT');

  let script;
  try {
    script = await loadScript(file);
  } catch (error) {
    if (error instanceof ScriptError) fail(error.message);
    throw error;
  }

  // A client that goes away closes our stdout: nothing left to do.
  process.stdout.on('error', () => process.exit(0));
  const write = (chunk: Uint8Array | string): Promise<void> =>
    new Promise((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())));
  const output = new WritableStream<Uint8Array>({ write: (chunk) => write(chunk) });
  const input = Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>;

  const connection = startScriptedAgent(script, {
    stream: ndJsonStream(output, input),
    writeRawLine: (line) => write(`${line}\n`),
    writeStderrLine: (line) => process.stderr.write(`${line}\n`),
    exit: (code) => process.exit(code),
  });
  await connection.closed;
  process.exit(0);
}

main().catch((error: unknown) => fail(`internal error: ${error instanceof Error ? error.message : String(error)}`));
