/**
 * Two small persistent (structurally shared) collections for the reducer's state. An update copies a handful of
 * 32-slot nodes and never the whole collection, and every earlier version stays valid: the viewer keeps states at
 * many cursors for the price of the changes.
 *
 * Copying the path on every change is what made folding a long trace slow (most of it garbage). So every update
 * also takes an optional owner token (`Edit`), as Clojure's transients do: a node created under a token belongs to
 * it, and a later update under the same token changes that node in place instead of copying it. A node made under
 * another token (or none) is never changed, so versions handed out before stay as they were. The reducer's
 * `Projector` (reducer.ts) holds one token while it folds and drops it whenever it hands out a state.
 */

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

/** An owner token: updates under the same token may change the nodes it made in place. `undefined`: copy always. */
export type Edit = object | undefined;

/** A trie node: its slots and the token it was made under. */
class Node {
  constructor(
    readonly edit: Edit,
    readonly slots: unknown[],
  ) {}
}

const EMPTY_NODE = new Node(undefined, []);

/**
 * `node` if `edit` owns it, else a copy of it owned by `edit`. A new node gets its 32 slots at once: filled one by one
 * from empty, V8 would give it room for 41, a fifth of a long run's vectors wasted.
 */
function editable(node: Node, edit: Edit): Node {
  if (edit !== undefined && node.edit === edit) return node;
  return new Node(edit, node === EMPTY_NODE ? new Array(WIDTH) : node.slots.slice());
}

/** An immutable vector: a 32-way trie indexed by position. */
export class PVec<T> {
  private constructor(
    private root: Node,
    private shift: number,
    private length: number,
    private readonly edit: Edit,
  ) {}

  static empty<T>(): PVec<T> {
    return EMPTY_VEC as PVec<T>;
  }

  static from<T>(items: Iterable<T>): PVec<T> {
    const edit = {};
    let vec = PVec.empty<T>();
    for (const item of items) vec = vec.push(item, edit);
    return vec;
  }

  get size(): number {
    return this.length;
  }

  get(index: number): T | undefined {
    if (index < 0 || index >= this.length) return undefined;
    return this.leafOf(index)[index & MASK] as T;
  }

  /** @internal The slots of the leaf holding `index` (in range): items `index & ~31` on, at most 32 of them. */
  leafOf(index: number): readonly unknown[] {
    let node = this.root;
    for (let level = this.shift; level > 0; level -= BITS) node = node.slots[(index >>> level) & MASK] as Node;
    return node.slots;
  }

  last(): T | undefined {
    return this.get(this.length - 1);
  }

  set(index: number, value: T, edit?: Edit): PVec<T> {
    if (index < 0 || index >= this.length) throw new RangeError(`PVec.set: index ${index} out of range`);
    return this.with(setIn(this.root, this.shift, index, value, edit), this.shift, this.length, edit);
  }

  push(value: T, edit?: Edit): PVec<T> {
    const index = this.length;
    // Full at this depth: grow a level, the old root becomes the first child. (A shift, not `**`: this runs on
    // every push; a vector of 2^31 items cannot be built in a JS heap.)
    if (index === WIDTH << this.shift) {
      const root = new Node(edit, new Array(WIDTH));
      root.slots[0] = this.root;
      return this.with(setIn(root, this.shift + BITS, index, value, edit), this.shift + BITS, index + 1, edit);
    }
    return this.with(setIn(this.root, this.shift, index, value, edit), this.shift, index + 1, edit);
  }

  /** Leaf by leaf: one walk down the trie per 32 items. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let start = 0; start < this.length; start += WIDTH) {
      const leaf = this.leafOf(start);
      const end = Math.min(WIDTH, this.length - start);
      for (let i = 0; i < end; i++) yield leaf[i] as T;
    }
  }

  toArray(): T[] {
    const out = new Array<T>(this.length);
    for (let start = 0; start < this.length; start += WIDTH) {
      const leaf = this.leafOf(start);
      const end = Math.min(WIDTH, this.length - start);
      for (let i = 0; i < end; i++) out[start + i] = leaf[i] as T;
    }
    return out;
  }

  /** This vector changed in place when `edit` owns it, else a new one. */
  private with(root: Node, shift: number, length: number, edit: Edit): PVec<T> {
    if (edit === undefined || this.edit !== edit) return new PVec<T>(root, shift, length, edit);
    this.root = root;
    this.shift = shift;
    this.length = length;
    return this;
  }
}

const EMPTY_VEC = new (PVec as unknown as new (root: Node, shift: number, size: number, edit: Edit) => PVec<unknown>)(EMPTY_NODE, 0, 0, undefined);

function setIn(node: Node, shift: number, index: number, value: unknown, edit: Edit): Node {
  const target = editable(node, edit);
  const slot = (index >>> shift) & MASK;
  if (shift === 0) target.slots[slot] = value;
  else target.slots[slot] = setIn((node.slots[slot] as Node | undefined) ?? EMPTY_NODE, shift - BITS, index, value, edit);
  return target;
}
/**
 * An immutable string-keyed map that remembers insertion order. Its entries live in a PVec in insertion order (key,
 * value, key, value, …); a hash trie whose leaves are small buckets finds a key's place in it. The trie is one level
 * deep for small maps and gains a level each time the map grows 32-fold (a rebuild whose cost is spread over those
 * insertions), so small maps stay cheap to update and large ones keep short buckets.
 *
 * A bucket holds `tag, place` pairs: the hash's upper bits and where the key is in the entries, two small integers
 * that never change once placed. So changing a value touches the entries alone (the trie changes only when a key is
 * added), and reading every value in order (a projection lists a run's nodes and edges) is a walk along the entries,
 * not a look-up per key.
 *
 * Trie nodes and buckets are plain arrays carrying their owner token in a fixed slot (a trie node: 32 children,
 * then the token; a bucket: the token, then its pairs), not objects wrapping an array: a long fold spends most of its
 * map time waiting on memory, and every wrapper was one more dependent load on the way down.
 */
export class PMap<V> {
  private constructor(
    private root: Trie,
    private depth: number,
    private pairs: PVec<unknown>,
    private readonly edit: Edit,
  ) {}

  static empty<V>(): PMap<V> {
    return EMPTY_MAP as PMap<V>;
  }

  get size(): number {
    return this.pairs.size >>> 1;
  }

  get(key: string): V | undefined {
    const place = this.placeOf(key, hashString(key));
    return place === -1 ? undefined : (this.pairs.leafOf(place)[(place & MASK) + 1] as V);
  }

  has(key: string): boolean {
    return this.placeOf(key, hashString(key)) !== -1;
  }

  set(key: string, value: V, edit?: Edit): PMap<V> {
    return this.put(key, value, undefined, SET, edit)!;
  }

  /** Sets `key` to `update(current)` (one walk down the trie). */
  update(key: string, update: (current: V | undefined) => V, edit?: Edit): PMap<V> {
    return this.put(key, undefined, update as Updater, SET, edit)!;
  }

  /** Adds `key` with `value`; undefined (and nothing changed) when the map has `key` already. */
  add(key: string, value: V, edit?: Edit): PMap<V> | undefined {
    return this.put(key, value, undefined, ADD, edit);
  }

  /**
   * Finds `key` and computes the new value before changing anything (an `update` that throws, or an ADD of a key
   * that is there, changes nothing).
   */
  private put(key: string, value: V | undefined, update: Updater | undefined, mode: Mode, edit: Edit): PMap<V> | undefined {
    const hash = hashString(key);
    const at = this.placeOf(key, hash);
    if (at !== -1) {
      if (mode === ADD) return undefined;
      const next = update === undefined ? value : update(this.pairs.leafOf(at)[(at & MASK) + 1]);
      return this.with(this.root, this.depth, this.pairs.set(at + 1, next, edit), edit);
    }
    const next = update === undefined ? value : update(undefined);
    // Both pushes under one token: without one, the second would copy the path the first just made.
    const pushEdit = edit ?? {};
    const placed = this.pairs.size;
    const entries = this.pairs.push(key, pushEdit).push(next, pushEdit);
    const root = ownTrie(this.root, edit);
    place(root, this.depth, hash, placed, edit);
    if (entries.size >>> 1 <= MAX_LOAD * CAPACITY[this.depth]!) return this.with(root, this.depth, entries, edit);
    // Grow a level: re-insert every entry with one more level of hash bits.
    const grownEdit = edit ?? {};
    const grown = ownTrie(undefined, grownEdit);
    for (let i = 0; i < entries.size; i += 2) place(grown, this.depth + 1, hashString(entries.get(i) as string), i, grownEdit);
    return this.with(grown, this.depth + 1, entries, edit);
  }

  /** Where `key` is in the entries (an even index), or -1. */
  private placeOf(key: string, hash: number): number {
    const bucket = bucketOf(this.root, this.depth, hash);
    if (bucket === undefined) return -1;
    // The tag (the hash's upper 30 bits, a small integer) first: the keys of a bucket share its lower bits, and
    // comparing distinct keys' characters at every entry of a full bucket was a third of a long fold's time.
    const tag = hash >>> 2;
    for (let i = 1; i < bucket.length; i += 2) {
      if (bucket[i] !== tag) continue;
      const at = bucket[i + 1] as number;
      if (this.pairs.leafOf(at)[at & MASK] === key) return at;
    }
    return -1;
  }

  *keys(): IterableIterator<string> {
    for (const [leaf, end] of this.leaves()) for (let i = 0; i < end; i += 2) yield leaf[i] as string;
  }

  *values(): IterableIterator<V> {
    for (const [leaf, end] of this.leaves()) for (let i = 0; i < end; i += 2) yield leaf[i + 1] as V;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [leaf, end] of this.leaves()) for (let i = 0; i < end; i += 2) yield [leaf[i] as string, leaf[i + 1] as V];
  }

  /** Calls `fn` with each entry, in insertion order (no pair allocated per entry, as `entries()` does). */
  forEach(fn: (value: V, key: string) => void): void {
    for (const [leaf, end] of this.leaves()) for (let i = 0; i < end; i += 2) fn(leaf[i + 1] as V, leaf[i] as string);
  }

  /** Every value, in insertion order, in a new array. */
  valueList(): V[] {
    const out = new Array<V>(this.size);
    let n = 0;
    for (const [leaf, end] of this.leaves()) for (let i = 0; i < end; i += 2) out[n++] = leaf[i + 1] as V;
    return out;
  }

  /** The entries' leaves, each with the number of its slots in use. */
  private *leaves(): IterableIterator<[readonly unknown[], number]> {
    const entries = this.pairs;
    for (let start = 0; start < entries.size; start += WIDTH) yield [entries.leafOf(start), Math.min(WIDTH, entries.size - start)];
  }

  /** This map changed in place when `edit` owns it, else a new one. */
  private with(root: Trie, depth: number, entries: PVec<unknown>, edit: Edit): PMap<V> {
    if (edit === undefined || this.edit !== edit) return new PMap<V>(root, depth, entries, edit);
    this.root = root;
    this.depth = depth;
    this.pairs = entries;
    return this;
  }
}

/** A trie node: 32 children (a node one level down, or a bucket at the last level), then its owner token. */
type Trie = unknown[];
/** A bucket: its owner token, then `tag, place` for each key (see `PMap.placeOf`). */
type Bucket = unknown[];

const EMPTY_MAP = new (PMap as unknown as new (root: Trie, depth: number, entries: PVec<unknown>, edit: Edit) => PMap<unknown>)(
  new Array(WIDTH + 1),
  1,
  PVec.empty(),
  undefined,
);

/**
 * Average keys per bucket before the trie gains a level. Fuller buckets (a short scan) beat more levels: at
 * 300,000 keys the trie stays three levels deep and holds a tenth of the nodes, which is what a fold of a long
 * run spends its time on (cache misses and garbage collection), not the scan.
 */
const MAX_LOAD = 16;
/** Buckets of a trie `depth` levels deep (WIDTH ** depth, looked up: `**` on every insert showed in profiles). */
const CAPACITY = Array.from({ length: 8 }, (_, depth) => WIDTH ** depth);

type Updater = (current: unknown) => unknown;
const SET = 0;
const ADD = 1;
type Mode = typeof SET | typeof ADD;

/** The bucket `hash` falls in, or undefined when no key of this map does. */
function bucketOf(root: Trie, depth: number, hash: number): Bucket | undefined {
  let node: unknown[] | undefined = root;
  for (let level = 0; level < depth && node !== undefined; level++) node = node[(hash >>> (level * BITS)) & MASK] as unknown[] | undefined;
  return node;
}

/** `trie` if `edit` owns it, else an owned copy of it (or a new empty node for none). */
function ownTrie(trie: Trie | undefined, edit: Edit): Trie {
  if (trie === undefined) {
    const made = new Array(WIDTH + 1);
    made[WIDTH] = edit;
    return made;
  }
  if (edit !== undefined && trie[WIDTH] === edit) return trie;
  const copy = trie.slice();
  copy[WIDTH] = edit;
  return copy;
}

/**
 * Adds `tag, at` for a key (not in the trie) to its bucket below the owned `root`, owning every node on the way
 * (copied when `edit` does not own it, and linked into its owned parent).
 */
function place(root: Trie, depth: number, hash: number, at: number, edit: Edit): void {
  let trie = root;
  for (let level = 0; level < depth - 1; level++) {
    const slot = (hash >>> (level * BITS)) & MASK;
    const child = trie[slot] as Trie | undefined;
    const owned = ownTrie(child, edit);
    if (owned !== child) trie[slot] = owned;
    trie = owned;
  }
  const slot = (hash >>> ((depth - 1) * BITS)) & MASK;
  const bucket = trie[slot] as Bucket | undefined;
  if (bucket === undefined) {
    trie[slot] = [edit, hash >>> 2, at];
    return;
  }
  if (edit !== undefined && bucket[0] === edit) {
    bucket.push(hash >>> 2, at);
    return;
  }
  const copy = bucket.slice();
  copy[0] = edit;
  copy.push(hash >>> 2, at);
  trie[slot] = copy;
}

/** FNV-1a, 32-bit. */
function hashString(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
