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
 * value, key, value, …): a version is its entries, and nothing else of it is persistent.
 *
 * A key's place in the entries never changes once it is added (a map only grows), so where to look for a key is
 * kept in one mutable hash index shared by every version of the map that grew from the same first insertion (the
 * `PlaceIndex` below): hash → places at which some version put that key. A version trusts a place only when it
 * is below its own size and its own entries hold the key there; so the index may hold places of other versions
 * (an older state folded on with other events: the viewer's seeks), and no version sees another's keys. Compared
 * with a persistent hash trie (the map's earlier form) this keeps no objects per key at all: the trie's buckets
 * and nodes were about a third of a long fold's retained memory, and its garbage collection most of its time.
 *
 * Changing a value touches the entries alone, and reading every value in order (a projection lists a run's nodes
 * and edges) is a walk along the entries, not a look-up per key.
 */
export class PMap<V> {
  private constructor(
    private index: PlaceIndex | undefined,
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

  /** Sets `key` to `update(current)` (one look-up). */
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
      return this.with(this.index, this.pairs.set(at + 1, next, edit), edit);
    }
    const next = update === undefined ? value : update(undefined);
    // Both pushes under one token: without one, the second would copy the path the first just made.
    const pushEdit = edit ?? {};
    const placed = this.pairs.size;
    const entries = this.pairs.push(key, pushEdit).push(next, pushEdit);
    const index = this.index ?? new PlaceIndex();
    index.insert(hash, placed);
    return this.with(index, entries, edit);
  }

  /** Where `key` is in this version's entries (an even index), or -1. */
  private placeOf(key: string, hash: number): number {
    const index = this.index;
    if (index === undefined) return -1;
    const slots = index.slots;
    const mask = slots.length - 2;
    const size = this.pairs.size;
    for (let i = home(hash, index.shift); ; i = (i + 2) & mask) {
      const place = slots[i + 1]! - 1;
      if (place === -1) return -1;
      // The hash first (compared as int32, as stored): comparing keys costs a walk down the entries.
      if (slots[i] === (hash | 0) && place < size && this.pairs.leafOf(place)[place & MASK] === key) return place;
    }
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

  /**
   * `make(value, key)` for each entry, in insertion order, in a new array. An entry whose key and value are those it
   * had at an earlier call, on this or any version of this map, gets the object made then: the versions share the
   * index, which keeps one memo (`make`, then per place: key, value, result). So rendering a projection again after
   * more events makes objects only for the entries added or changed since (a long run's periodic snapshots made
   * every edge anew). `make` must be one function, always the same (another starts a new memo), and its results must
   * never be changed. The memo lives as long as the map's versions do: one more object and three slots per entry.
   */
  mapMemo<R>(make: (value: V, key: string) => R): R[] {
    const out = new Array<R>(this.size);
    const index = this.index;
    if (index === undefined) return out;
    if (index.memoOf !== make) {
      index.memoOf = make;
      index.memo = [];
    }
    const memo = index.memo;
    let n = 0;
    for (const [leaf, end] of this.leaves()) {
      for (let i = 0; i < end; i += 2, n++) {
        const key = leaf[i] as string;
        const value = leaf[i + 1] as V;
        const at = n * 3;
        // Filled from place 0 on, so the memo never has holes; `===` compares keys by content.
        if (at < memo.length && memo[at] === key && memo[at + 1] === value) out[n] = memo[at + 2] as R;
        else {
          const made = make(value, key);
          memo[at] = key;
          memo[at + 1] = value;
          memo[at + 2] = made;
          out[n] = made;
        }
      }
    }
    return out;
  }

  /** The entries' leaves, each with the number of its slots in use. */
  private *leaves(): IterableIterator<[readonly unknown[], number]> {
    const entries = this.pairs;
    for (let start = 0; start < entries.size; start += WIDTH) yield [entries.leafOf(start), Math.min(WIDTH, entries.size - start)];
  }

  /** This map changed in place when `edit` owns it, else a new one. */
  private with(index: PlaceIndex | undefined, entries: PVec<unknown>, edit: Edit): PMap<V> {
    if (edit === undefined || this.edit !== edit) return new PMap<V>(index, entries, edit);
    this.index = index;
    this.pairs = entries;
    return this;
  }
}

const EMPTY_MAP = new (PMap as unknown as new (index: PlaceIndex | undefined, entries: PVec<unknown>, edit: Edit) => PMap<unknown>)(
  undefined,
  PVec.empty(),
  undefined,
);

type Updater = (current: unknown) => unknown;
/** The memo of an index that never had one (mapMemo starts a new array before it writes). */
const NO_MEMO: unknown[] = [];
const SET = 0;
const ADD = 1;
type Mode = typeof SET | typeof ADD;

/**
 * Where the versions of one map put each key: an open-addressing hash table (linear probing) of `hash, place + 1`
 * int32 pairs, 0 marking a free slot. Only ever added to, and a `hash, place` pair is added once: an older version
 * folded on with the same events puts the same keys at the same places. No key objects are held, so what it keeps
 * alive is 8 to 16 bytes per pair outside the garbage collector's reach.
 */
class PlaceIndex {
  slots = new Int32Array(2 * 16);
  /** 32 − log2(pairs the table has room for): see `home`. */
  shift = 28;
  private count = 0;
  /** PMap.mapMemo's function and memo (key, value, result per place), shared by the map's versions. */
  memoOf: unknown = undefined;
  memo: unknown[] = NO_MEMO;

  insert(hash: number, place: number): void {
    const h = hash | 0;
    let slots = this.slots;
    let mask = slots.length - 2;
    for (let i = home(h, this.shift); ; i = (i + 2) & mask) {
      const stored = slots[i + 1]!;
      if (stored === 0) break;
      if (stored === place + 1 && slots[i] === h) return;
    }
    // At most half full, so probes stay short; grown before the new pair goes in.
    if (++this.count * 4 > slots.length) {
      const grown = new Int32Array(slots.length * 2);
      const grownMask = grown.length - 2;
      this.shift--;
      for (let j = 0; j < slots.length; j += 2) {
        if (slots[j + 1] === 0) continue;
        let i = home(slots[j]!, this.shift);
        while (grown[i + 1] !== 0) i = (i + 2) & grownMask;
        grown[i] = slots[j]!;
        grown[i + 1] = slots[j + 1]!;
      }
      this.slots = slots = grown;
      mask = grownMask;
    }
    let i = home(h, this.shift);
    while (slots[i + 1] !== 0) i = (i + 2) & mask;
    slots[i] = h;
    slots[i + 1] = place + 1;
  }
}

/**
 * The first slot to probe for `hash` in a table of 2^(32 − shift) pairs: the top bits of the hash times 2^32/φ
 * (FNV-1a's low bits alone follow the keys' last characters too closely: `n1`, `n2`, … would crowd together).
 */
function home(hash: number, shift: number): number {
  return (Math.imul(hash, 0x9e3779b1) >>> shift) << 1;
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

// The third collection, moved to its own file (this one was over 400 lines); still exported from here.
export { AppendList } from './append-list.ts';
