/** The reducer's third persistent collection (see persistent.ts): a list that only grows at its end. */

/**
 * An immutable list that only grows at its end (a session's attempt ids): each version is a length over one array
 * shared with the versions before it. Appending to the longest version pushes onto that array, so a state kept at
 * every cursor (the viewer's checkpoints) costs one small object per version, not a copy of the list each. A
 * shorter version appending (an older state folded on) shares the array too when the next item there is the same
 * one, and copies its own items otherwise. Serializes as an array.
 */
export class AppendList<T> implements Iterable<T> {
  private constructor(
    private readonly items: T[],
    readonly length: number,
  ) {}

  static empty<T>(): AppendList<T> {
    return EMPTY_LIST as AppendList<T>;
  }

  static of<T>(...items: T[]): AppendList<T> {
    return items.length === 0 ? AppendList.empty() : new AppendList(items, items.length);
  }

  append(item: T): AppendList<T> {
    const { items, length } = this;
    // The empty list's array is shared by every list in the process: a new list gets its own.
    if (length === 0) return new AppendList([item], 1);
    if (items.length === length) items.push(item);
    else if (items[length] !== item) return new AppendList([...items.slice(0, length), item], length + 1);
    return new AppendList(items, length + 1);
  }

  get(index: number): T | undefined {
    return index >= 0 && index < this.length ? this.items[index] : undefined;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.items[i]!;
  }

  toArray(): T[] {
    return this.items.slice(0, this.length);
  }

  join(separator?: string): string {
    return this.toArray().join(separator);
  }

  toJSON(): T[] {
    return this.toArray();
  }
}

const EMPTY_LIST = new (AppendList as unknown as new (items: unknown[], length: number) => AppendList<unknown>)([], 0);
