// The files a user writes in their own project: flows in three styles, a program using the library, a typed
// consumer. Each is what the README tells a user to write.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from './project.ts';

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A TypeScript flow importing @flowtape/recorder, with the scripted agent: the conversation sample, as a user copies it. */
export function writeConversation(project: string): void {
  cpSync(join(repoRoot, 'samples/conversation/conversation.flow.ts'), join(project, 'flows/conversation.flow.ts'));
  cpSync(join(repoRoot, 'samples/conversation/agent.json'), join(project, 'flows/agent.json'));
  cpSync(join(repoRoot, 'samples/conversation/notes.txt'), join(project, 'notes.txt'));
}

/** A flow written for acpx: imports `acpx/flows` (not installed in the project) and its JSON helpers. */
export const ACPX_FLOW = `import { compute, defineFlow, extractJsonObject, parseJsonObject, parseStrictJsonObject, shell } from 'acpx/flows';

export default defineFlow({
  name: 'acpx-style',
  startAt: 'emit',
  nodes: {
    emit: shell({ exec: { command: 'node', args: ['-e', 'console.log("the verdict: " + JSON.stringify({ verdict: "ship" }))'] } }),
    parse: compute({
      run: ({ outputs }) => {
        const stdout = String((outputs.emit as { stdout: string }).stdout);
        return {
          extracted: extractJsonObject(stdout),
          fenced: parseJsonObject('\`\`\`json\\n{"a": 1}\\n\`\`\`'),
          strict: parseStrictJsonObject('{"b": 2}'),
        };
      },
    }),
  },
  edges: [{ from: 'emit', to: 'parse' }],
});
`;

/** A plain JavaScript ES module flow. */
export const MJS_FLOW = `import { compute, defineFlow } from '@flowtape/recorder';

export default defineFlow({
  name: 'plain-mjs',
  startAt: 'count',
  nodes: {
    count: compute({ run: ({ input }) => ({ n: (input?.n ?? 0) + 1 }) }),
    double: compute({ run: ({ outputs }) => ({ n: outputs.count.n * 2 }) }),
  },
  edges: [{ from: 'count', to: 'double' }],
});
`;

/** A TypeScript flow for a bare directory: no package.json anywhere above it, flowtape not installed there. */
export const BARE_FLOW = `import { compute, defineFlow } from '@flowtape/recorder';

const greet = (name: string): string => \`hello \${name}\`;

export default defineFlow({
  name: 'bare',
  startAt: 'hello',
  nodes: { hello: compute({ run: () => ({ text: greet('bare directory') }) }) },
  edges: [],
});
`;

/** The same flow as CommonJS (`require`), in a directory without a package.json. */
export const CJS_FLOW = `const { compute, defineFlow } = require('@flowtape/recorder');

module.exports = defineFlow({
  name: 'bare-cjs',
  startAt: 'hello',
  nodes: { hello: compute({ run: () => ({ text: 'hello bare directory' }) }) },
  edges: [],
});
`;

/** A decoy copy of @flowtape/recorder beside the bare flow: loading it means the CLI used a second runtime. */
export const DECOY_INDEX = `throw new Error('decoy @flowtape/recorder loaded: the flow did not get the CLI\\'s own runtime');\n`;

/** A plain-Node ES module program that records a run through the library. */
export const PROGRAM = `import { compute, defineFlow, record, verifyBundle } from '@flowtape/recorder';

const flow = defineFlow({
  name: 'from-a-program',
  startAt: 'add',
  nodes: { add: compute({ run: ({ input }) => ({ sum: input.a + input.b }) }) },
  edges: [],
});
const result = await record(flow, { a: 2, b: 3 }, { outDir: 'runs/program' });
const report = await verifyBundle(result.bundleDir);
console.log(JSON.stringify({ status: result.status, bundleDir: result.bundleDir, valid: report.ok }));
`;

/** The same library from CommonJS (require of the ESM package, Node 20.19+). */
export const CJS_PROGRAM = `const flowtape = require('@flowtape/recorder');
console.log(typeof flowtape.record, typeof flowtape.defineFlow);
`;

/** A typed consumer; compiled with NodeNext and strict, without skipLibCheck. */
export const CONSUMER = `import { compute, defineFlow, record, type RecordResult } from '@flowtape/recorder';
import { reduce, type TraceEvent } from '@flowtape/schema';

const flow = defineFlow({
  name: 'typed',
  startAt: 'one',
  nodes: { one: compute({ run: () => ({ ok: true }) }) },
  edges: [],
});

export async function main(): Promise<RecordResult['status']> {
  const result: RecordResult = await record(flow, {}, { outDir: 'runs/typed' });
  return result.status;
}

export const fold: typeof reduce = reduce;
export type Event = TraceEvent;
`;

export const CONSUMER_TSCONFIG = JSON.stringify(
  {
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'] },
    files: ['consumer.ts'],
  },
  null,
  2,
);

export { write };
