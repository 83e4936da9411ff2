#!/usr/bin/env node
// Process entry of `flowtape-replay-agent`: loads the recorded bundle, then serves ACP over stdio.
// `flowtape replay` starts one per ACP session; it is a plain ACP agent any client can use.
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { ndJsonStream } from '@agentclientprotocol/sdk';
import { splitCommand } from '../runtime/command.ts';
import { startReplayAgent } from './replay-agent.ts';
import { loadRecording } from './replay-recording.ts';

const usage = `Usage: flowtape-replay-agent --bundle <dir> --state <dir> [--handle <name>] [--live <command>] [--from <node>]
An ACP agent over stdio that serves the recorded ACP sessions of a flowtape bundle (the ones of session handle
<name>, default "main"). --state is a directory shared by the agent processes of one replay (which recorded
sessions and turns are used up). --live: the agent for prompts the recording lacks. --from: turns of attempts from
that node's first attempt on go to the live agent. Matching rules: schema/SPEC.md, "Replay".`;

function fail(message: string): never {
  process.stderr.write(`flowtape-replay-agent: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { bundle?: string | undefined; state?: string | undefined; handle?: string | undefined; live?: string | undefined; from?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      options: {
        bundle: { type: 'string' },
        state: { type: 'string' },
        handle: { type: 'string' },
        live: { type: 'string' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (!values.bundle) fail('no bundle given: use --bundle <dir>');
  if (!values.state) fail('no state directory given: use --state <dir>');
  let recording;
  try {
    recording = await loadRecording(values.bundle);
  } catch (error) {
    fail(`${values.bundle}: ${(error as Error).message.split('\n')[0]}`);
  }
  process.stdout.on('error', () => process.exit(0));
  const write = (chunk: Uint8Array | string): Promise<void> =>
    new Promise((resolve, reject) => process.stdout.write(chunk, (error) => (error ? reject(error) : resolve())));
  const output = new WritableStream<Uint8Array>({ write: (chunk) => write(chunk) });
  const input = Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>;
  const connection = startReplayAgent({
    recording,
    handle: values.handle ?? 'main',
    stateDir: values.state,
    live: values.live === undefined ? undefined : splitCommand(values.live),
    from: values.from,
    stream: ndJsonStream(output, input),
    writeRawLine: (line) => write(`${line}\n`),
    writeStderrLine: (line) => process.stderr.write(`${line}\n`),
  });
  await connection.closed;
  process.exit(0);
}

main().catch((error: unknown) => fail(`internal error: ${error instanceof Error ? error.message : String(error)}`));
