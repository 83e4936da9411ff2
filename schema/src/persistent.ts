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
 * whose leaves are small buckets (`[tag0, key0, value0, tag1, key1, value1, …]`, see `find`). The trie is one level deep for small maps and
 * gains a level each time the map grows 32-fold (a rebuild whose cost is spread over those insertions), so small
 * maps stay cheap to update and large ones keep short buckets.
 */
export class PMap<V> {
  private constructor(
    private root: Node,
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
    const bucket = this.bucket(hash);
    if (!bucket) return undefined;
    const i = find(bucket.slots, hash, key);
    return i === -1 ? undefined : (bucket.slots[i + 1] as V);
  }

  has(key: string): boolean {
    const hash = hashString(key);
    const bucket = this.bucket(hash);
    return bucket !== undefined && find(bucket.slots, hash, key) !== -1;
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

  private put(key: string, value: V | undefined, update: Updater | undefined, mode: Mode, edit: Edit): PMap<V> | undefined {
    added = false;
    const root = insert(this.root, 0, this.depth, hashString(key), key, value, update, mode, edit);
    if (root === undefined) return undefined;
    if (!added) return this.with(root, this.depth, this.order, edit);
    const order = this.order.push(key, edit);
    if (order.size <= MAX_LOAD * CAPACITY[this.depth]!) return this.with(root, this.depth, order, edit);
    // Grow a level: re-insert every entry with one more level of hash bits.
    const stored = update === undefined ? value : this.valueIn(root, key);
    const grownEdit = edit ?? {};
    let grown = EMPTY_NODE;
    for (const k of order) grown = insert(grown, 0, this.depth + 1, hashString(k), k, k === key ? stored : this.get(k), undefined, SET, grownEdit)!;
    return this.with(grown, this.depth + 1, order, edit);
  }

  /** The value of `key` in a trie of this map's depth. */
  private valueIn(root: Node, key: string): V | undefined {
    const hash = hashString(key);
    let node: Node | undefined = root;
    for (let level = 0; level < this.depth && node; level++) node = node.slots[(hash >>> (level * BITS)) & MASK] as Node | undefined;
    if (!node) return undefined;
    const i = find(node.slots, hash, key);
    return i === -1 ? undefined : (node.slots[i + 1] as V);
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

  private bucket(hash: number): Node | undefined {
    let node: Node | undefined = this.root;
    for (let level = 0; level < this.depth && node; level++) node = node.slots[(hash >>> (level * BITS)) & MASK] as Node | undefined;
    return node;
  }

  /** This map changed in place when `edit` owns it, else a new one. */
  private with(root: Node, depth: number, order: PVec<string>, edit: Edit): PMap<V> {
    if (edit === undefined || this.edit !== edit) return new PMap<V>(root, depth, order, edit);
    this.root = root;
    this.depth = depth;
    this.order = order;
    return this;
  }
}

const EMPTY_MAP = new (PMap as unknown as new (root: Node, depth: number, order: PVec<string>, edit: Edit) => PMap<unknown>)(
  EMPTY_NODE,
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

/** Whether the last `insert` added a key (rather than replacing a value): saves an allocation per call. */
let added = false;

/**
 * `node` (a trie node at `level`, or a bucket at `depth`) with `key` set to `value`, or to `update(current)` when
 * `update` is given; undefined when `mode` is ADD and the key is there (nothing is changed). The new value is
 * computed before anything is changed, so an `update` that throws leaves every node as it was.
 */
function insert(
  node: Node | undefined,
  level: number,
  depth: number,
  hash: number,
  key: string,
  value: unknown,
  update: Updater | undefined,
  mode: Mode,
  edit: Edit,
): Node | undefined {
  if (level === depth) {
    const bucket = node ?? EMPTY_NODE;
    const slots = bucket.slots;
    const i = find(slots, hash, key);
    if (i !== -1) {
      if (mode === ADD) return undefined;
      const next = update === undefined ? value : update(slots[i + 1]);
      const target = editable(bucket, edit);
      target.slots[i + 1] = next;
      return target;
    }
    const next = update === undefined ? value : update(undefined);
    added = true;
    const target = editable(bucket, edit);
    target.slots.push(tagOf(hash), key, next);
    return target;
  }
  const trie = node ?? EMPTY_NODE;
  const slot = (hash >>> (level * BITS)) & MASK;
  const child = insert(trie.slots[slot] as Node | undefined, level + 1, depth, hash, key, value, update, mode, edit);
  if (child === undefined) return undefined;
  if (child === trie.slots[slot]) return trie; // changed in place all the way down
  const target = editable(trie, edit);
  target.slots[slot] = child;
  return target;
}

/**
 * Where `key` is in a bucket (`[tag0, key0, value0, tag1, key1, value1, …]`): the index of the key, or -1. The tag
 * (the hash's upper 30 bits, a small integer) is compared first: comparing two distinct keys' characters at every
 * entry of a full bucket was a third of a long fold's time.
 */
function find(slots: unknown[], hash: number, key: string): number {
  const tag = tagOf(hash);
  for (let i = 0; i < slots.length; i += 3) if (slots[i] === tag && slots[i + 1] === key) return i + 1;
  return -1;
}

/** Entries of a bucket share the hash's low bits (the trie's path to it): the upper 30 bits tell them apart. */
function tagOf(hash: number): number {
  return hash >>> 2;
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
