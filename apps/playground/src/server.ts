import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailable } from './backend.js';
import { ControlError } from './controls.js';
import { type LiveEvent, LiveRun, type LiveRunConfig } from './live-run.js';

/** Where the page's own files are: `apps/playground/web`. */
const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
/** uPlot's `dist` folder in node_modules: the charts, served as they ship. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));

/** The files the server hands out, and nothing else. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  '/': [join(WEB_DIR, 'index.html'), 'text/html; charset=utf-8'],
  '/app.js': [join(WEB_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
  '/style.css': [join(WEB_DIR, 'style.css'), 'text/css; charset=utf-8'],
  '/vendor/uPlot.esm.js': [join(UPLOT_DIR, 'uPlot.esm.js'), 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': [join(UPLOT_DIR, 'uPlot.min.css'), 'text/css; charset=utf-8'],
};

/** Request bodies larger than this are refused. */
const MAX_BODY = 16 * 1024;
/** A comment down every event stream this often keeps proxies from closing it. */
const KEEPALIVE_MS = 15_000;

/** The server could not start; the message is one line for the user. */
export class ServeError extends Error {
  override readonly name = 'ServeError';
}

/** A running page server. */
export interface PlaygroundServer {
  /** The page's address, such as `http://127.0.0.1:8080/`. */
  readonly url: string;
  readonly port: number;
  readonly run: LiveRun;
  /** Stops the run, ends the event streams and closes the server. */
  close(): Promise<void>;
}

/**
 * Serves the live page on localhost: the page and uPlot (from node_modules, no network), the
 * run's events as Server-Sent Events (`GET /events`), its state as JSON (`GET /api/state`),
 * and the controls (`POST /api/control`, `POST /api/restart`).
 *
 * @param config - the run's settings.
 * @param port - the port (0 picks a free one).
 * @param host - the interface (default `127.0.0.1`: this machine only).
 * @returns the server, listening, with the run started.
 * @throws ServeError when the port is in use or cannot be opened; BackendUnavailable when the
 * run's backend cannot be used.
 */
export async function startServer(
  config: LiveRunConfig,
  port: number,
  host = '127.0.0.1',
): Promise<PlaygroundServer> {
  const run = await LiveRun.open(config);
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    handle(req, res, run, streams).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, 500, { error: `internal error: ${message}` });
      else res.end();
    });
  });
  try {
    await listen(server, port, host);
  } catch (error) {
    await run.stop();
    throw error;
  }
  run.start();
  const keepalive = setInterval(() => {
    for (const res of streams) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${actual}/`,
    port: actual,
    run,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(keepalive);
        // The timer and the listeners stop at once; the backend closes once the tick ends.
        const stopped = run.stop();
        for (const res of streams) res.end();
        streams.clear();
        server.close(() => resolve(stopped));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.removeListener('listening', onListening);
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(new ServeError(`port ${port} is in use (${where}); pick another with --port`));
      } else if (error.code === 'EACCES') {
        reject(new ServeError(`no permission to listen on ${where}; pick a port above 1023`));
      } else {
        reject(new ServeError(`cannot listen on ${where}: ${error.message}`));
      }
    };
    const onListening = () => {
      server.removeListener('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  run: LiveRun,
  streams: Set<ServerResponse>,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const method = req.method ?? 'GET';
  const file = FILES[path];
  if (file !== undefined) {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
    const body = await readFile(file[0]);
    res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  switch (path) {
    case '/events':
      if (method !== 'GET') return notAllowed(res, 'GET');
      return openStream(req, res, run, streams);
    case '/api/state':
      if (method !== 'GET') return notAllowed(res, 'GET');
      return send(res, 200, run.hello());
    case '/api/control': {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const body = await readJson(req, res);
      if (body === undefined) return;
      try {
        return send(res, 200, run.control(body));
      } catch (error) {
        if (error instanceof ControlError) return send(res, 400, { error: error.message });
        throw error;
      }
    }
    case '/api/restart': {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const body = await readJson(req, res, true);
      if (body === undefined) return;
      const seed = restartSeed(body);
      if (typeof seed === 'string') return send(res, 400, { error: seed });
      try {
        await run.restart(seed);
      } catch (error) {
        if (error instanceof BackendUnavailable) return send(res, 503, { error: error.message });
        throw error;
      }
      return send(res, 200, { seed: run.hello().seed, run: run.hello().run });
    }
    case '/favicon.ico':
      res.writeHead(204).end();
      return;
    default:
      return send(res, 404, { error: `no such page: ${path}` });
  }
}

function openStream(
  req: IncomingMessage,
  res: ServerResponse,
  run: LiveRun,
  streams: Set<ServerResponse>,
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  // Reconnect after 1 s if the stream drops (EventSource does so by itself).
  res.write('retry: 1000\n\n');
  streams.add(res);
  const stop = run.listen((event: LiveEvent) => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
  });
  req.on('close', () => {
    stop();
    streams.delete(res);
  });
}

/** Reads a JSON body, or answers 400/413 and returns `undefined`. */
async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  emptyIsObject = false,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      send(res, 413, { error: `the body is larger than ${MAX_BODY} bytes` });
      req.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '' && emptyIsObject) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    send(res, 400, { error: 'the body must be JSON, such as {"demand": 2}' });
    return undefined;
  }
}

/** The seed a restart asks for: a number, `undefined` to keep it, or what is wrong. */
function restartSeed(body: unknown): number | undefined | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'the body must be a JSON object such as {"seed": 7}';
  }
  const { seed, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return `unknown field ${JSON.stringify(unknown)}; known: seed`;
  if (seed === undefined) return undefined;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    return `seed must be a whole number from 0 to 4294967295, got ${JSON.stringify(seed)}`;
  }
  return seed;
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, { error: `use ${allow}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body)}\n`);
}
