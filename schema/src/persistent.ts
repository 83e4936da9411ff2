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

/** `node` if `edit` owns it, else a copy of it owned by `edit`. */
function editable(node: Node, edit: Edit): Node {
  return edit !== undefined && node.edit === edit ? node : new Node(edit, node.slots.slice());
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
    let node = this.root;
    for (let level = this.shift; level > 0; level -= BITS) node = node.slots[(index >>> level) & MASK] as Node;
    return node.slots[index & MASK] as T;
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
      const root = new Node(edit, [this.root]);
      return this.with(setIn(root, this.shift + BITS, index, value, edit), this.shift + BITS, index + 1, edit);
    }
    return this.with(setIn(this.root, this.shift, index, value, edit), this.shift, index + 1, edit);
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i) as T;
  }

  toArray(): T[] {
    const out = new Array<T>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.get(i) as T;
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
 * An immutable string-keyed map that remembers insertion order: keys live in a PVec (order), values in a hash trie
 * whose leaves are small buckets. The trie is one level deep for small maps and gains a level each time the map
 * grows 32-fold (a rebuild whose cost is spread over those insertions), so small maps stay cheap to update and
 * large ones keep short buckets.
 *
 * Trie nodes and buckets are plain arrays carrying their owner token in a fixed slot (a trie node: 32 children,
 * then the token; a bucket: the token, then `tag, key, value` triples), not objects wrapping an array: a long fold
 * spends most of its map time waiting on memory, and every wrapper was one more dependent load on the way down.
 */
export class PMap<V> {
  private constructor(
    private root: Trie,
    private depth: number,
    private order: PVec<string>,
    private readonly edit: Edit,
  ) {}

  static empty<V>(): PMap<V> {
    return EMPTY_MAP as PMap<V>;
  }

  get size(): number {
    return this.order.size;
  }

  get(key: string): V | undefined {
    const hash = hashString(key);
    const bucket = bucketOf(this.root, this.depth, hash);
    if (bucket === undefined) return undefined;
    const i = find(bucket, hash >>> 2, key);
    return i === -1 ? undefined : (bucket[i + 1] as V);
  }

  has(key: string): boolean {
    const hash = hashString(key);
    const bucket = bucketOf(this.root, this.depth, hash);
    return bucket !== undefined && find(bucket, hash >>> 2, key) !== -1;
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
   * Finds `key` first and computes the new value (an `update` that throws, or an ADD of a key that is there,
   * changes nothing), then walks down again owning the path: the second walk finds the nodes in cache.
   */
  private put(key: string, value: V | undefined, update: Updater | undefined, mode: Mode, edit: Edit): PMap<V> | undefined {
    const hash = hashString(key);
    const tag = hash >>> 2;
    const found = bucketOf(this.root, this.depth, hash);
    const at = found === undefined ? -1 : find(found, tag, key);
    if (at !== -1 && mode === ADD) return undefined;
    const next = update === undefined ? value : update(at === -1 ? undefined : found![at + 1]);
    const root = ownTrie(this.root, edit);
    if (at !== -1) {
      const { trie, slot } = pathTo(root, this.depth, hash, edit);
      const bucket = ownBucket(trie[slot] as Bucket, edit);
      bucket[at + 1] = next;
      trie[slot] = bucket;
      return this.with(root, this.depth, this.order, edit);
    }
    place(root, this.depth, hash, key, next, edit);
    const order = this.order.push(key, edit);
    if (order.size <= MAX_LOAD * CAPACITY[this.depth]!) return this.with(root, this.depth, order, edit);
    // Grow a level: re-insert every entry with one more level of hash bits.
    const grownEdit = edit ?? {};
    const grown = ownTrie(undefined, grownEdit);
    for (const k of order) place(grown, this.depth + 1, hashString(k), k, k === key ? next : this.get(k), grownEdit);
    return this.with(grown, this.depth + 1, order, edit);
  }

  keys(): IterableIterator<string> {
    return this.order[Symbol.iterator]();
  }

  *values(): IterableIterator<V> {
    for (const key of this.order) yield this.get(key) as V;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const key of this.order) yield [key, this.get(key) as V];
  }

  /** This map changed in place when `edit` owns it, else a new one. */
  private with(root: Trie, depth: number, order: PVec<string>, edit: Edit): PMap<V> {
    if (edit === undefined || this.edit !== edit) return new PMap<V>(root, depth, order, edit);
    this.root = root;
    this.depth = depth;
    this.order = order;
    return this;
  }
}

/** A trie node: 32 children (a node one level down, or a bucket at the last level), then its owner token. */
type Trie = unknown[];
/** A bucket: its owner token, then `tag, key, value` for each entry (see `find`). */
type Bucket = unknown[];

const EMPTY_MAP = new (PMap as unknown as new (root: Trie, depth: number, order: PVec<string>, edit: Edit) => PMap<unknown>)(
  new Array(WIDTH + 1),
  1,
  PVec.empty(),
  undefined,
);

/**
 * Average entries per bucket before the trie gains a level. Fuller buckets (a short scan) beat more levels: at
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

/** `bucket` if `edit` owns it, else an owned copy of it. */
function ownBucket(bucket: Bucket, edit: Edit): Bucket {
  if (edit !== undefined && bucket[0] === edit) return bucket;
  const copy = bucket.slice();
  copy[0] = edit;
  return copy;
}

/**
 * The last-level trie node on `hash`'s path below `root` (owned by then: every node on the way is owned, copied
 * when `edit` does not own it, and linked into its owned parent), and the slot of the bucket in it.
 */
function pathTo(root: Trie, depth: number, hash: number, edit: Edit): { trie: Trie; slot: number } {
  let trie = root;
  for (let level = 0; level < depth - 1; level++) {
    const slot = (hash >>> (level * BITS)) & MASK;
    const child = trie[slot] as Trie | undefined;
    const owned = ownTrie(child, edit);
    if (owned !== child) trie[slot] = owned;
    trie = owned;
  }
  PATH.trie = trie;
  PATH.slot = (hash >>> ((depth - 1) * BITS)) & MASK;
  return PATH;
}
/** pathTo's answer: one object reused (the caller reads it at once), not one allocated per insert. */
const PATH: { trie: Trie; slot: number } = { trie: [], slot: 0 };

/** Appends `key` (not in the trie) with `value` to its bucket below the owned `root`. */
function place(root: Trie, depth: number, hash: number, key: string, value: unknown, edit: Edit): void {
  const { trie, slot } = pathTo(root, depth, hash, edit);
  const bucket = trie[slot] as Bucket | undefined;
  if (bucket === undefined) {
    trie[slot] = [edit, hash >>> 2, key, value];
    return;
  }
  const owned = ownBucket(bucket, edit);
  owned.push(hash >>> 2, key, value);
  if (owned !== bucket) trie[slot] = owned;
}

/**
 * Where `key` is in a bucket: the index of the key, or -1. The tag (the hash's upper 30 bits, a small integer: the
 * entries of a bucket share the low bits, the trie's path to it) is compared first: comparing two distinct keys'
 * characters at every entry of a full bucket was a third of a long fold's time.
 */
function find(bucket: Bucket, tag: number, key: string): number {
  for (let i = 1; i < bucket.length; i += 3) if (bucket[i] === tag && bucket[i + 1] === key) return i + 1;
  return -1;
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
