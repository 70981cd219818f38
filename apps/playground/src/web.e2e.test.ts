// The live page end to end, in headless Chromium (Debian's `chromium` driven by playwright-core):
// the page loads, the charts draw and keep updating, and the controls change what the
// simulation does. In CI it must run; elsewhere, without Chromium, it says how to get it.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlaygroundServer, startServer } from './server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const INSTALL = 'apt-get install -y chromium';
const inCI = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
/** `UPDATE_SCREENSHOT=1` also writes the README's screenshot, `docs/page.png`. */
const README_SHOT = join(dirname(dirname(fileURLToPath(import.meta.url))), 'docs', 'page.png');

if (!available && !inCI) {
  console.warn(`web end-to-end test skipped: no Chromium at ${CHROMIUM}; install it: ${INSTALL}`);
}

if (inCI && !available) {
  describe('the browser', () => {
    it('is installed (CI never skips the end-to-end test)', () => {
      throw new Error(`no Chromium at ${CHROMIUM}: CI must install it (${INSTALL})`);
    });
  });
}

/** Totals over every tenant at the page's latest point, as the page received them. */
interface Totals {
  t: number;
  offered: number;
  admitted: number;
  denied: number;
  tokens: number;
  tokensCapacity: number;
  dollarsCapacity: number;
}

/** What the page keeps on `(globalThis as unknown as PageWindow).playground` (see web/app.js), as far as the test reads it. */
interface PageWindow {
  playground: {
    points: {
      t: number;
      tenants: Record<string, number>[];
      budgets: { name: string; capacity: number }[];
    }[];
    received: number;
    controls: { demand: number[] } | undefined;
    charts: Record<string, { data: number[][] }>;
  };
  document: { getElementById(id: string): { textContent: string | null } | null };
}

/** A canvas as the test reads it (the test compiles without the DOM's types). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

function latest(page: Page): Promise<Totals> {
  return page.evaluate(() => {
    const p = (globalThis as unknown as PageWindow).playground.points.at(-1)!;
    const sum = (key: string) => p.tenants.reduce((s, t) => s + t[key]!, 0);
    const cap = (name: string) => p.budgets.find((b) => b.name === name)!.capacity;
    return {
      t: p.t,
      offered: sum('offered'),
      admitted: sum('admitted'),
      denied: sum('denied'),
      tokens: sum('tokens'),
      tokensCapacity: cap('tokens'),
      dollarsCapacity: cap('dollars'),
    };
  });
}

/** Waits until the page has a point `seconds` of simulated time after `from`. */
async function after(page: Page, from: Totals, seconds: number): Promise<Totals> {
  await page.waitForFunction(
    (t) => (globalThis as unknown as PageWindow).playground.points.at(-1)!.t >= t,
    from.t + seconds,
    {
      polling: 50,
    },
  );
  return latest(page);
}

/** What happened over about one simulated minute from now. */
async function minute(page: Page) {
  const from = await latest(page);
  const to = await after(page, from, 60);
  const per = 60 / (to.t - from.t);
  return {
    offered: (to.offered - from.offered) * per,
    admitted: (to.admitted - from.admitted) * per,
    denied: (to.denied - from.denied) * per,
    tokens: (to.tokens - from.tokens) * per,
  };
}

/** Pixels drawn on each chart's canvas. */
function inkPerChart(page: Page): Promise<number[]> {
  return page.$$eval('.chart canvas', (canvases) =>
    (canvases as unknown as Canvas[]).map((canvas) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) ink++;
      return ink;
    }),
  );
}

async function set(page: Page, input: string, value: string) {
  await page.fill(input, value);
  await page.press(input, 'Enter');
}

describe.runIf(available)('the live page in headless Chromium', () => {
  let browser: Browser;
  let server: PlaygroundServer;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (m) => {
      // The browser logs the 400 the test provokes on purpose; anything else is a failure.
      if (m.type() === 'error' && !/status of 400/.test(m.text())) errors.push(m.text());
    });
    // 12 simulated minutes at 60×: about 12 s of wall time, the verdict at the end.
    server = await startServer(
      { tenants: 5, minutes: 12, seed: 42, backend: 'memory', speed: 60 },
      0,
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws the charts, updates them, obeys the controls and shows the verdict', async () => {
    await page.goto(server.url);
    await page.locator('#tenants tbody tr').nth(4).waitFor();
    expect(await page.locator('#tenants tbody tr').count()).toBe(5);

    // The charts draw: data reached uPlot, and its canvases have ink on them.
    await page.waitForFunction(
      () =>
        (globalThis as unknown as PageWindow).playground.charts.utilization!.data[0]!.length >= 5,
    );
    const ink = await inkPerChart(page);
    expect(ink).toHaveLength(4);
    for (const pixels of ink) expect(pixels).toBeGreaterThan(500);
    const names = Object.keys(
      await page.evaluate(() => (globalThis as unknown as PageWindow).playground.charts),
    );
    expect(names).toEqual(['utilization', 'denials', 'waiting', 'debt']);
    // …and keep updating as points stream in.
    const drawn = await page.evaluate(
      () => (globalThis as unknown as PageWindow).playground.charts.utilization!.data[0]!.length,
    );
    await page.waitForFunction(
      (n) =>
        (globalThis as unknown as PageWindow).playground.charts.denials!.data[0]!.length >= n + 5,
      drawn,
    );
    expect(
      await page.evaluate(() => (globalThis as unknown as PageWindow).playground.received),
    ).toBeGreaterThan(5);

    // A capacity up: a day's dollars large enough that the daily cap stays out of the way.
    await set(page, '#dollars-per-day', '500');
    await page.waitForFunction(
      () =>
        (globalThis as unknown as PageWindow).playground.points.at(-1)!.budgets[2]!.capacity ===
        5e8,
    );

    // Demand × 4: four times the calls offered in a simulated minute, and many more denied.
    const before = await minute(page);
    await set(page, '#demand', '4');
    await page.waitForFunction(() =>
      (globalThis as unknown as PageWindow).playground.controls?.demand.every((d) => d === 4),
    );
    const busy = await minute(page);
    expect(busy.offered).toBeGreaterThan(2.5 * before.offered);
    expect(busy.denied).toBeGreaterThan(before.denied + 50);

    // Tokens per minute down to 5 000 (at the next minute): far fewer calls and tokens get in.
    await set(page, '#tokens-per-minute', '5000');
    await page.waitForFunction(() =>
      (globalThis as unknown as PageWindow).document
        .getElementById('message')!
        .textContent!.includes('5000'),
    );
    await page.waitForFunction(
      () =>
        (globalThis as unknown as PageWindow).playground.points.at(-1)!.budgets[1]!.capacity ===
        5e3,
    );
    const starved = await minute(page);
    expect(starved.admitted).toBeLessThan(busy.admitted / 2);
    expect(starved.tokens).toBeLessThan(busy.tokens / 2);

    // A bad value is refused with the server's message; nothing changes.
    await set(page, '#tenant-per-minute', '-5');
    await page.locator('#message.error').waitFor();
    expect(await page.textContent('#message')).toMatch(/^tenantPerMinute must be a whole number/);

    const shot = join(mkdtempSync(join(tmpdir(), 'playground-e2e-')), 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);

    // The end: the verdict, held across every generation of the budgets.
    await page.locator('#verdict.held').waitFor({ state: 'visible' });
    const verdict = await page.textContent('#verdict');
    expect(verdict).toContain('All conservation invariants held');
    // Each generation of the two token budgets is held to its own ledger.
    expect(verdict).toMatch(/ok — tokens\/min from \d\d:\d\d: budget = auditor's ledger/);
    expect(verdict).toMatch(
      /ok — dollars\/day from \d\d:\d\d: consumed = Σ reported usage \+ carried in/,
    );
    expect(verdict).not.toContain('BROKEN');
    expect(await page.textContent('#status')).toMatch(/^done/);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await page.screenshot({ path: README_SHOT, fullPage: true });
    }
    expect(errors).toEqual([]);
  }, 60_000);
});
