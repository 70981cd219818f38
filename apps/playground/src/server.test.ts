import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlaygroundServer, ServeError, startServer } from './server.js';
import { startCommand } from './spawn-start.js';

const config = { tenants: 3, minutes: 30, seed: 42, backend: 'memory', speed: 60 } as const;

let server: PlaygroundServer;
beforeAll(async () => {
  server = await startServer(config, 0);
});
afterAll(() => server.close());

async function get(path: string, init?: RequestInit) {
  const res = await fetch(new URL(path, server.url), init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

function post(path: string, body: string) {
  return get(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
}

async function controls() {
  return JSON.parse((await get('/api/state')).text).controls;
}

describe('the page server', () => {
  it('serves the page, its script and uPlot from node_modules', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="/app.js">');
    for (const path of ['/app.js', '/vendor/uPlot.esm.js']) {
      const file = await get(path);
      expect(file.status).toBe(200);
      expect(file.type).toMatch(/^text\/javascript/);
    }
    expect((await get('/vendor/uPlot.esm.js')).text).toMatch(/export { uPlot as default }/);
    expect((await get('/style.css')).type).toMatch(/^text\/css/);
  });

  it('answers 404 for unknown routes and 405 for the wrong method', async () => {
    expect(await get('/nope')).toMatchObject({ status: 404, text: /no such page: \/nope/ });
    expect((await get('/../package.json')).status).toBe(404);
    expect((await get('/web/app.js')).status).toBe(404);
    expect((await post('/', '{}')).status).toBe(405);
    expect((await get('/api/control')).status).toBe(405);
  });

  it('streams the run as Server-Sent Events: a hello with the history, then points', async () => {
    const controller = new AbortController();
    const res = await fetch(new URL('/events', server.url), { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!/event: point\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const hello = /event: hello\ndata: (.*)\n/.exec(text)![1]!;
    expect(JSON.parse(hello)).toMatchObject({
      seed: 42,
      minutes: 30,
      tenants: [{ name: 'acme' }, { name: 'globex' }, { name: 'initech' }],
    });
    const point = JSON.parse(/event: point\ndata: (.*)\n/.exec(text)![1]!);
    expect(point.budgets.map((b: { name: string }) => b.name)).toEqual([
      'requests',
      'tokens',
      'dollars',
      'global',
    ]);
    expect(point.tenants).toHaveLength(3);
  });

  it.each([
    ['not JSON', 'abc', 400, /must be JSON/],
    ['a non-number', '{"demand": "lots"}', 400, /demand must be a number from 0 to 20/],
    ['a negative', '{"demand": -1}', 400, /got -1/],
    ['an absurd size', '{"tokensPerMinute": 1e15}', 400, /from 1000 to 10000000/],
    ['a fraction of a token', '{"tenantPerMinute": 1000.5}', 400, /whole number/],
    ['null', '{"usdMicrosPerDay": null}', 400, /got null/],
    ['an unknown control', '{"speed": 9}', 400, /unknown control "speed"/],
    ['an unknown tenant', '{"tenantDemand": {"wayne": 2}}', 400, /no tenant named "wayne"/],
    ['nothing', '{}', 400, /nothing to change/],
    ['one good value and one bad', '{"demand": 3, "tokensPerMinute": -5}', 400, /got -5/],
    ['a huge body', JSON.stringify({ demand: 1, pad: 'x'.repeat(20_000) }), 413, /larger than/],
  ])('refuses %s with a message and changes nothing', async (_, body, status, message) => {
    const before = await controls();
    const res = await post('/api/control', body);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text).error).toMatch(message);
    expect(await controls()).toEqual(before);
  });

  it('applies good values: demand at once, capacities at their boundary', async () => {
    const res = await post(
      '/api/control',
      '{"tenantDemand": {"acme": 2.5}, "tokensPerMinute": 8000}',
    );
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({
      demand: [2.5, 1, 1],
      pending: { tokensPerMinute: 8_000 },
    });
    // The next simulated minute starts within a second of wall time at 60× speed.
    await expect
      .poll(async () => (await controls()).capacities.tokensPerMinute, { timeout: 10_000 })
      .toBe(8_000);
    expect((await controls()).pending).toEqual({});
  });

  it('restarts with another seed, and refuses a bad one', async () => {
    expect((await post('/api/restart', '{"seed": -1}')).status).toBe(400);
    expect((await post('/api/restart', '{"seed": "x"}')).status).toBe(400);
    expect((await post('/api/restart', '{"sed": 7}')).status).toBe(400);
    const res = await post('/api/restart', '{"seed": 7}');
    expect(res.status).toBe(200);
    const state = JSON.parse((await get('/api/state')).text);
    expect(state).toMatchObject({ seed: 7, run: 2 });
    expect(state.controls.demand).toEqual([1, 1, 1]);
    expect(state.history.length).toBeLessThan(20);
  });

  it('refuses a port in use with one clear line', async () => {
    const error = await startServer(config, server.port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServeError);
    expect((error as Error).message).toBe(
      `port ${server.port} is in use (127.0.0.1:${server.port}); pick another with --port`,
    );
  });

  it('closes cleanly: streams end, the port is free again', async () => {
    const other = await startServer(config, 0);
    const res = await fetch(new URL('/events', other.url));
    const reader = res.body!.getReader();
    await reader.read();
    await other.close();
    // The stream ends rather than hanging.
    for (;;) if ((await reader.read()).done) break;
    await expect(fetch(other.url)).rejects.toThrow();
    const again = await startServer(config, other.port);
    await again.close();
  });
});

describe('pnpm start -- --web', () => {
  const spawnWeb = (args: string[]) => startCommand(['--web', ...args]);

  it('serves until SIGINT, then stops cleanly with status 0', async () => {
    const web = spawnWeb(['--port', '0', '--speed', '600']);
    await expect.poll(web.out, { timeout: 30_000, interval: 50 }).toMatch(/live page is at/);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(web.out())![1]!;
    expect((await fetch(url)).status).toBe(200);
    web.child.kill('SIGINT');
    expect(await web.exit).toBe(0);
    expect(web.out()).toMatch(/stopped \(SIGINT\)/);
    expect(web.err()).toBe('');
  }, 40_000);

  it('exits 2 with one line when the port is in use', async () => {
    const web = spawnWeb(['--port', String(server.port)]);
    expect(await web.exit).toBe(2);
    expect(web.err()).toBe(
      `budgetry playground: port ${server.port} is in use (127.0.0.1:${server.port}); pick another with --port\n`,
    );
  }, 40_000);

  it('refuses web options without --web, and a bad port', async () => {
    const { parseCommandLine } = await import('./options.js');
    expect(parseCommandLine(['--port', '80'])).toEqual({
      kind: 'error',
      message: '--port is only for --web',
    });
    expect(parseCommandLine(['--web', '--port', '70000'])).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/--port must be a whole number from 0 to 65535/),
    });
    expect(parseCommandLine(['--web', '--json'])).toMatchObject({ kind: 'error' });
    expect(parseCommandLine(['--web'])).toMatchObject({
      kind: 'run',
      options: { minutes: 15, web: { port: 8080, speed: 20 } },
    });
  });
});
