// `npm run serve`: a small static server for the page. Serves dist/web (the bundle, the MNIST sample,
// the JPEG decoder), web/ (index.html, style.css), docs/ (the page example at /examples/mnist-page.html)
// and data/ (the frost textures, at /frost/) on 127.0.0.1 and prints the URL. Options: --port N (0
// picks a free port; default 8080), --root DIR (the project directory; default the current one).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
};

export interface StaticServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export function startServer(options: { port?: number; root?: string; log?: (line: string) => void } = {}): Promise<StaticServer> {
  const root = resolve(options.root ?? '.');
  const dirs = [join(root, 'dist', 'web'), join(root, 'web'), join(root, 'docs'), join(root, 'data')];
  const log = options.log ?? (() => {});
  const server = createServer((req, res) => {
    const send = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'bad request');
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const relative = normalize(pathname).replace(/^([/\\])+/, '');
    if (relative.startsWith('..') || relative.includes(`${sep}..${sep}`) || relative.includes('\0')) return send(403, 'forbidden');
    const inside = (dir: string, f: string) => f.startsWith(dir + sep);
    const file = dirs.map((d) => [d, join(d, relative)]).find(([d, f]) => inside(d, f) && existsSync(f) && statSync(f).isFile())?.[1];
    if (!file) {
      log(`404 ${pathname}`);
      return send(404, `not found: ${pathname}`);
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolvePromise({ server, url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const port = Number(arg('--port') ?? process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer from 0 to 65535, got ${arg('--port')}`);
    process.exit(2);
  }
  const root = arg('--root') ?? '.';
  if (!existsSync(join(root, 'dist', 'web', 'main.js'))) {
    console.error(`serve: ${join(root, 'dist', 'web', 'main.js')} is missing; run npm run build first (npm run serve builds it)`);
    process.exit(1);
  }
  try {
    const { url } = await startServer({ port, root, log: (line) => console.error(line) });
    console.log(`serving the page at ${url}  (kernel tests: ${url}?tests; Ctrl-C stops)`);
  } catch (e) {
    console.error(`serve: cannot listen on 127.0.0.1:${port}: ${(e as Error).message}`);
    process.exit(1);
  }
}
