// How the page (and Node, for the same decoders) gets at bytes: a file picked in a file input, a URL
// on the page's own server, or (Node) a path; and how the page hands a file back (a download).
export interface ByteSource {
  /** For messages: a file name, URL or path. */
  readonly name: string;
  bytes(): Promise<Uint8Array>;
}

/** A file chosen in an <input type="file"> (or dropped). */
export function fileSource(file: File): ByteSource {
  return { name: file.name, bytes: async () => new Uint8Array(await file.arrayBuffer()) };
}

/** A file served next to the page. */
export function urlSource(url: string): ByteSource {
  return {
    name: url,
    async bytes() {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

/** Offers bytes to the user as a download. */
export function download(name: string, data: Uint8Array | string, type = 'application/octet-stream'): void {
  const blob = new Blob([typeof data === 'string' ? data : (data as Uint8Array<ArrayBuffer>)], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
