// What the two backends that fetch a bundle's files over HTTP (HttpBackend, StaticBackend) share: a bundle path as
// a URL path, and a file read whole or as a stream from the response their own `get` fetched.

/** Each segment URL-encoded, the slashes kept. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export abstract class FetchedFiles {
  /** The file's response, or undefined when the bundle has no such file (it throws for any other failure). */
  protected abstract get(path: string): Promise<Response | undefined>;

  async read(path: string): Promise<Uint8Array | undefined> {
    const res = await this.get(path);
    return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }

  async stream(path: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const res = await this.get(path);
    return res?.body ?? undefined;
  }
}
