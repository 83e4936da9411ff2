// Loading a scripted agent's script: reads and validates the file against the schemas of script.ts and turns a bad
// file into one clear line naming the file and the JSON pointer at fault (ScriptError).
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { describeJsonError } from '../json-error.ts';
import { scriptSchema, type Script, type Step } from './script.ts';

/** A bad script: `message` is one line naming the file and, when known, the JSON pointer. */
export class ScriptError extends Error {
  override name = 'ScriptError';
}

/**
 * RFC 6901 JSON pointer for a zod issue path (`/` for the document itself). Not the schema's `toPointer`: the
 * scripted agent does not load @flowtape/schema, and every test spawns it.
 */
function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '/';
  return path.map((p) => '/' + String(p).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** Parses and validates script text; `file` is only used to name the source in errors. */
export function parseScript(text: string, file: string): Script {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ScriptError(`invalid script ${file}: not valid JSON (${describeJsonError(text, error)})`);
  }
  const result = scriptSchema.safeParse(raw);
  if (!result.success) {
    // A misspelt key also makes the key it was meant to be "missing": the unknown key is the better report.
    const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    const [first, ...rest] = issues;
    const { path, message } = mostSpecific(first!);
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
    throw new ScriptError(`invalid script ${file} at ${jsonPointer(path)}: ${oneLine(message)}${more}`);
  }
  return result.data;
}

/** Reads, parses and validates a script file. */
export async function loadScript(file: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScriptError(`cannot read script ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const script = parseScript(text, file);
  await loadImageFiles(script, dirname(file), file);
  return script;
}

/**
 * Reads the files of `image` steps (relative to the script's folder) into their `data`, so a missing file is a script
 * error at load time, naming the step, rather than a failure in the middle of a turn.
 */
async function loadImageFiles(script: Script, dir: string, file: string): Promise<void> {
  const visit = async (steps: Step[] | undefined, at: PropertyKey[]): Promise<void> => {
    for (const [i, step] of (steps ?? []).entries()) {
      if (step.image?.path !== undefined) {
        const path = resolve(dir, step.image.path);
        try {
          step.image = { ...step.image, path: undefined, data: (await readFile(path)).toString('base64') };
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          throw new ScriptError(`invalid script ${file} at ${jsonPointer([...at, i, 'image', 'path'])}: cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
        }
      }
      await visit(step.permission?.ifAllowed, [...at, i, 'permission', 'ifAllowed']);
      await visit(step.permission?.ifRejected, [...at, i, 'permission', 'ifRejected']);
    }
  };
  for (const [i, turn] of script.turns.entries()) {
    await visit(turn.steps, ['turns', i, 'steps']);
    await visit(turn.afterAnswer, ['turns', i, 'afterAnswer']);
  }
  await visit(script.fallback?.steps, ['fallback', 'steps']);
  await visit(script.fallback?.afterAnswer, ['fallback', 'afterAnswer']);
  await visit(script.sessionLoad?.replay, ['sessionLoad', 'replay']);
}

// A union that matched no member reports one issue per member; the member that got furthest into the value
// (the longest issue path) is the one the author meant, e.g. the `{ "regex": … }` form of `match`.
function mostSpecific(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    let best: { path: PropertyKey[]; message: string } | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (!first) continue;
      const candidate = mostSpecific(first);
      if (!best || candidate.path.length > best.path.length) best = candidate;
    }
    if (best && best.path.length > 0) return { path: [...issue.path, ...best.path], message: best.message };
  }
  return { path: [...issue.path], message: issue.message };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
