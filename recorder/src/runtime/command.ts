// Agent and shell command lines: a string is split into argv like a POSIX shell would split words (single and
// double quotes, backslash escapes) without any expansion; an argv array is taken as it is.
import { FlowDefinitionError } from './errors.ts';

export function splitCommand(command: string | readonly string[]): string[] {
  if (typeof command !== 'string') return [...command];
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) word += command[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new FlowDefinitionError(`command ${JSON.stringify(command)}: unterminated ${quote} quote`);
  if (inWord) argv.push(word);
  return argv;
}

/** One readable line for a command and its arguments (quoted where needed). */
export function commandText(command: string, args: readonly string[] = []): string {
  if (args.length === 0) return command;
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** Interpreters and launchers: an agent started through one is named by what it runs (`node x.js` → `x.js`). */
const LAUNCHERS = /^(node|nodejs|bun|deno|tsx|ts-node|python[\d.]*|ruby|perl|sh|bash|zsh|env|npx|pnpx|bunx|uvx|pipx)$/;

/**
 * A short name for an agent command, for messages before the agent has told its `agentInfo` name: the program's
 * file name, or for an interpreter or launcher (`node`, `npx`, …) the script or package it runs — the first
 * argument that looks like a file (`x.js`, `bin/agent`), else the first that is not an option.
 */
export function agentLabel(argv: readonly string[]): string {
  const base = (path: string): string => path.replace(/\/+$/, '').split(/[\\/]/).pop() || path;
  const program = base(argv[0] ?? '');
  if (!LAUNCHERS.test(program.replace(/\.exe$/i, ''))) return program;
  const args = argv.slice(1);
  const script = args.find((a) => !a.startsWith('-') && (/[\\/]/.test(a) || /\.(m?[jt]s|cjs|cts|py|rb|sh)$/.test(a)))
    ?? args.find((a) => !a.startsWith('-') && !a.includes('='));
  return script === undefined ? program : base(script);
}
