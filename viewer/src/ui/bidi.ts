// Bundle and agent text may carry Unicode bidirectional controls. Applied by the browser, an override makes an
// agent's `g\u202Enp.exe` read as `gexe.pn` — the text on screen is not the text in the bundle. The viewer shows
// every such control as a visible token (`⟨U+202E⟩`) instead of applying it, so what is read is what was recorded.
// Ordinary right-to-left letters (Hebrew, Arabic) are left alone: only the invisible controls are revealed.
// Pure functions (no React): usable for attributes, <option> labels and titles, where no element can go.

/**
 * The controls revealed: ALM U+061C, LRM/RLM U+200E–U+200F, the embeddings and overrides U+202A–U+202E
 * (LRE RLE PDF LRO RLO) and the isolates U+2066–U+2069 (LRI RLI FSI PDI).
 */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const BIDI_SPLIT = new RegExp(`(${BIDI.source})`, 'g');

const NAMES: Record<number, string> = {
  0x061c: 'ARABIC LETTER MARK',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
};

export function hasBidiControls(text: string): boolean {
  return BIDI.test(text);
}

/** The visible token shown in place of one control character: `⟨U+202E⟩`. */
export function bidiToken(char: string): string {
  return `⟨U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/** What the control is, for a tooltip. */
export function bidiName(char: string): string {
  return NAMES[char.charCodeAt(0)] ?? 'bidirectional control';
}

/** The text with every bidi control replaced by its visible token; text without any is returned as is. */
export function revealBidi(text: string): string {
  return BIDI.test(text) ? text.replace(new RegExp(BIDI.source, 'g'), bidiToken) : text;
}

/**
 * The text cut at each control: even indexes are plain text, odd indexes single control characters (the
 * shape String.split gives with a capturing group), so a component can mark the controls up.
 */
export function splitBidi(text: string): string[] {
  return text.split(BIDI_SPLIT);
}
