/**
 * Text for a terminal, from anywhere (a bundle, an agent, a flow's error): every character a terminal could act on
 * instead of printing is shown escaped, so the text stays readable and cannot set the window title, clear the
 * screen, move the cursor, recolour what follows or reorder it. Escaped: C0 controls except newline and tab
 * (ESC → `\x1b`, BEL → `\x07`, CR → `\x0d`), DEL, C1 controls U+0080–U+009F (`\x9b`, a one-character CSI), and the
 * bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069 (`\u202e`). Newlines and tabs
 * are kept: they are how flowtape lays out its own lines.
 *
 * The CLI applies it to everything it writes for people (program.ts wraps `io.stdout`/`io.stderr`); `--json`
 * documents are written as JSON.stringify made them (it escapes every C0 control itself). Applying it twice
 * changes nothing: the escapes are plain text.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

function escape(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function terminalSafe(text: string): string {
  return UNSAFE.test(text) ? text.replace(UNSAFE_ALL, escape) : text;
}

const BREAKS_ALL = /[\n\t]/g;

/**
 * The same for a name shown inside one of flowtape's own lines (a bundle path in `verify`, `ls` or `diff`): its
 * newlines and tabs escaped too (`\n`, `\t`), so a folder named with a newline cannot split the line that names it.
 */
export function terminalSafeInline(text: string): string {
  return terminalSafe(text).replace(BREAKS_ALL, (char) => (char === '\n' ? '\\n' : '\\t'));
}
