/**
 * Two small persistent (structurally shared) collections for the reducer's state. An update copies a handful of
 * 32-slot arrays and never the whole collection, so folding one event costs the same at 100 steps and at 100,000,
 * and every intermediate state stays valid: the viewer keeps states at many cursors for the price of the changes.
 */

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

type Trie<T> = ReadonlyArray<Trie<T> | T | undefined>;

/** An immutable vector: a 32-way trie indexed by position. */
export class PVec<T> {
  private constructor(
    private readonly root: Trie<T>,
    private readonly shift: number,
    readonly size: number,
  ) {}

  static empty<T>(): PVec<T> {
    return new PVec<T>([], 0, 0);
  }

  static from<T>(items: Iterable<T>): PVec<T> {
    let vec = PVec.empty<T>();
    for (const item of items) vec = vec.push(item);
    return vec;
  }

  get(index: number): T | undefined {
    if (index < 0 || index >= this.size) return undefined;
    let node: Trie<T> = this.root;
    for (let level = this.shift; level > 0; level -= BITS) node = node[(index >>> level) & MASK] as Trie<T>;
    return node[index & MASK] as T;
  }

  last(): T | undefined {
    return this.get(this.size - 1);
  }

  set(index: number, value: T): PVec<T> {
    if (index < 0 || index >= this.size) throw new RangeError(`PVec.set: index ${index} out of range`);
    return new PVec(setIn(this.root, this.shift, index, value), this.shift, this.size);
  }

  push(value: T): PVec<T> {
    const index = this.size;
    // Full at this depth: grow a level, the old root becomes the first child.
    if (index === WIDTH ** (this.shift / BITS + 1)) {
      const root: Trie<T> = [this.root];
      return new PVec(setIn(root, this.shift + BITS, index, value), this.shift + BITS, index + 1);
    }
    return new PVec(setIn(this.root, this.shift, index, value), this.shift, index + 1);
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.size; i++) yield this.get(i) as T;
  }

  toArray(): T[] {
    return Array.from(this);
  }
}

function setIn<T>(node: Trie<T>, shift: number, index: number, value: T): Trie<T> {
  const copy = node.slice();
  const slot = (index >>> shift) & MASK;
  if (shift === 0) copy[slot] = value;
  else copy[slot] = setIn((node[slot] as Trie<T> | undefined) ?? [], shift - BITS, index, value);
  return copy;
}

/**
 * An immutable string-keyed map that remembers insertion order: keys live in a PVec (order), values in a hash trie
 * whose leaves are small buckets. The trie is one level deep for small maps and gains a level each time the map
 * grows 32-fold (a rebuild whose cost is spread over those insertions), so small maps stay cheap to update and large
 * ones keep short buckets.
 */
export class PMap<V> {
  private constructor(
    private readonly root: Trie<Bucket<V>>,
    private readonly depth: number,
    private readonly order: PVec<string>,
  ) {}

  static empty<V>(): PMap<V> {
    return new PMap<V>([], 1, PVec.empty());
  }

  get size(): number {
    return this.order.size;
  }

  get(key: string): V | undefined {
    const bucket = this.bucket(key);
    if (!bucket) return undefined;
    for (const entry of bucket) if (entry[0] === key) return entry[1];
    return undefined;
  }

  has(key: string): boolean {
    const bucket = this.bucket(key);
    return bucket !== undefined && bucket.some((entry) => entry[0] === key);
  }

  set(key: string, value: V): PMap<V> {
    const { root, added } = insert(this.root, this.depth, key, value);
    if (!added) return new PMap(root, this.depth, this.order);
    const order = this.order.push(key);
    if (order.size <= MAX_LOAD * WIDTH ** this.depth) return new PMap(root, this.depth, order);
    // Grow a level: re-insert every entry with one more level of hash bits.
    let grown: Trie<Bucket<V>> = [];
    for (const k of order) grown = insert(grown, this.depth + 1, k, k === key ? value : (this.get(k) as V)).root;
    return new PMap(grown, this.depth + 1, order);
  }

  /** Sets `key` to `update(current)`. */
  update(key: string, update: (current: V | undefined) => V): PMap<V> {
    return this.set(key, update(this.get(key)));
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

  private bucket(key: string): Bucket<V> | undefined {
    const hash = hashString(key);
    let node: unknown = this.root;
    for (let level = 0; level < this.depth && node; level++) {
      node = (node as Trie<Bucket<V>>)[(hash >>> (level * BITS)) & MASK];
    }
    return node as Bucket<V> | undefined;
  }
}

/** Average entries per bucket before the trie gains a level. */
const MAX_LOAD = 4;

function insert<V>(root: Trie<Bucket<V>>, depth: number, key: string, value: V): { root: Trie<Bucket<V>>; added: boolean } {
  const hash = hashString(key);
  const path: Trie<Bucket<V>>[] = [];
  let node: Trie<Bucket<V>> | undefined = root;
  for (let level = 0; level < depth; level++) {
    path.push(node ?? []);
    node = node?.[(hash >>> (level * BITS)) & MASK] as Trie<Bucket<V>> | undefined;
  }
  const bucket = (node as unknown as Bucket<V> | undefined) ?? [];
  const at = bucket.findIndex((entry) => entry[0] === key);
  let child: unknown = at === -1 ? [...bucket, [key, value]] : bucket.with(at, [key, value]);
  for (let level = depth - 1; level >= 0; level--) {
    const copy = path[level]!.slice();
    copy[(hash >>> (level * BITS)) & MASK] = child as Trie<Bucket<V>>;
    child = copy;
  }
  return { root: child as Trie<Bucket<V>>, added: at === -1 };
}

type Bucket<V> = ReadonlyArray<readonly [string, V]>;

/** FNV-1a, 32-bit. */
function hashString(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
