// The live page: listens to the run's events (Server-Sent Events on /events), draws them with
// uPlot, and sends the controls to /api/control and /api/restart. Plain ES module, no build.
import uPlot from '/vendor/uPlot.esm.js';

const BUDGET_LABELS = {
  requests: 'requests/min',
  tokens: 'tokens/min',
  dollars: 'dollars/day',
  global: 'all tenants/min',
};
const BUDGET_COLORS = ['#7a8694', '#1f77b4', '#2ca02c', '#d62728'];
const TENANT_COLORS = [
  '#e6550d',
  '#3182bd',
  '#31a354',
  '#756bb1',
  '#636363',
  '#de2d26',
  '#08519c',
  '#a63603',
  '#54278f',
  '#006d2c',
];
/** Denials per minute are counted over this many simulated seconds. */
const RATE_WINDOW_S = 60;

const $ = (id) => document.getElementById(id);

/** What the page has received, for people (and the end-to-end test) to inspect. */
const state = {
  hello: undefined,
  points: [],
  received: 0,
  verdict: undefined,
  controls: undefined,
  charts: {},
};
window.playground = state;

function tenantColor(i) {
  return TENANT_COLORS[i % TENANT_COLORS.length];
}

function chartWidth(el) {
  return Math.max(260, Math.floor(el.getBoundingClientRect().width));
}

function makeChart(id, series, extra = {}) {
  const el = $(id);
  el.replaceChildren();
  const opts = {
    width: chartWidth(el),
    height: 200,
    scales: { x: { time: false }, ...extra.scales },
    axes: extra.axes ?? [{ label: 'simulated minutes' }, {}],
    series: [{ label: 'min', value: (_u, v) => (v == null ? '' : v.toFixed(2)) }, ...series],
    legend: { live: false },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], el);
}

function buildCharts(hello) {
  for (const chart of Object.values(state.charts)) chart.destroy();
  const tenants = hello.tenants.map((t, i) => ({
    label: t.name,
    stroke: tenantColor(i),
    width: 1.5,
  }));
  state.charts = {
    utilization: makeChart(
      'chart-utilization',
      Object.values(BUDGET_LABELS).map((label, i) => ({
        label,
        stroke: BUDGET_COLORS[i],
        width: 1.5,
      })),
      { scales: { y: { range: [0, 100] } } },
    ),
    denials: makeChart('chart-denials', tenants),
    waiting: makeChart('chart-waiting', tenants),
    debt: makeChart(
      'chart-debt',
      [
        { label: 'tokens owed', stroke: BUDGET_COLORS[1], width: 1.5, scale: 'tokens' },
        {
          label: 'dollars owed',
          stroke: BUDGET_COLORS[2],
          width: 1.5,
          scale: 'usd',
          value: (_u, v) => (v == null ? '' : `$${v.toFixed(4)}`),
        },
      ],
      {
        scales: { tokens: { range: (_u, _min, max) => [0, Math.max(1, max)] }, usd: {} },
        axes: [
          { label: 'simulated minutes' },
          { scale: 'tokens' },
          { scale: 'usd', side: 1, grid: { show: false } },
        ],
      },
    ),
  };
}

/** The denials of each tenant per simulated minute, over the last {@link RATE_WINDOW_S}. */
function denialRates(points) {
  const rates = [];
  let from = 0;
  for (const p of points) {
    while (points[from].t < p.t - RATE_WINDOW_S) from++;
    const base = points[from];
    const span = p.t - base.t;
    rates.push(
      p.tenants.map((t, i) => (span > 0 ? ((t.denied - base.tenants[i].denied) * 60) / span : 0)),
    );
  }
  return rates;
}

function redraw() {
  const points = state.points;
  const x = points.map((p) => p.t / 60);
  const { utilization, denials, waiting, debt } = state.charts;
  utilization.setData([
    x,
    ...Object.keys(BUDGET_LABELS).map((name) =>
      points.map((p) => 100 * p.budgets.find((b) => b.name === name).utilization),
    ),
  ]);
  const rates = denialRates(points);
  const tenants = state.hello.tenants;
  denials.setData([x, ...tenants.map((_, i) => rates.map((r) => r[i]))]);
  waiting.setData([x, ...tenants.map((_, i) => points.map((p) => p.tenants[i].waiting))]);
  const owed = (name, scale) =>
    points.map((p) => p.budgets.find((b) => b.name === name).debt / scale);
  debt.setData([x, owed('tokens', 1), owed('dollars', 1e6)]);
}

function showPoint(p) {
  $('clock').textContent = p.clock;
  $('minute').textContent = String(p.minute);
  $('progress').value = p.progress;
  const rows = $('tenants').tBodies[0].rows;
  p.tenants.forEach((t, i) => {
    const cells = rows[i]?.cells;
    if (cells === undefined) return;
    cells[2].textContent = t.offered.toLocaleString('en-US');
    cells[3].textContent = t.admitted.toLocaleString('en-US');
    cells[4].textContent = t.denied.toLocaleString('en-US');
    cells[5].textContent = t.timedOut.toLocaleString('en-US');
    cells[6].textContent = String(t.waiting);
    cells[7].textContent = t.tokens.toLocaleString('en-US');
  });
}

function showControls(controls) {
  state.controls = controls;
  const c = controls.capacities;
  const set = (id, value) => {
    if (document.activeElement !== $(id)) $(id).value = String(value);
  };
  set('tokens-per-minute', c.tokensPerMinute);
  set('dollars-per-day', (c.usdMicrosPerDay / 1e6).toFixed(2));
  set('tenant-per-minute', c.tenantPerMinute);
  const all = controls.demand.every((d) => d === controls.demand[0]);
  if (all) set('demand', controls.demand[0]);
  for (const [i, input] of document.querySelectorAll('#tenants input').entries()) {
    if (document.activeElement !== input) input.value = String(controls.demand[i]);
  }
  const pending = Object.entries(controls.pending).map(([k, v]) => `${k} → ${v}`);
  $('pending').textContent =
    pending.length > 0 ? `waiting for their boundary: ${pending.join(', ')}` : '';
}

function buildTable(hello) {
  const body = $('tenants').tBodies[0];
  body.replaceChildren();
  hello.tenants.forEach((t, i) => {
    const row = body.insertRow();
    row.dataset.tenant = t.name;
    const name = row.insertCell();
    name.textContent = t.name;
    name.style.borderLeft = `4px solid ${tenantColor(i)}`;
    row.insertCell().textContent = t.kind;
    for (let c = 0; c < 6; c++) row.insertCell().textContent = '0';
    const input = document.createElement('input');
    Object.assign(input, { type: 'number', min: '0', max: '20', step: '0.1', value: '1' });
    input.setAttribute('aria-label', `demand of ${t.name}`);
    input.addEventListener('change', () =>
      send('/api/control', { tenantDemand: { [t.name]: Number(input.value) } }),
    );
    row.insertCell().append(input);
  });
}

function showVerdict(verdict) {
  state.verdict = verdict;
  const box = $('verdict');
  if (verdict === undefined) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.className = verdict.held ? 'held' : 'broken';
  const title = document.createElement('strong');
  title.textContent = verdict.held
    ? 'All conservation invariants held (checked with @budgetry/testing’s Auditor).'
    : 'A conservation invariant broke:';
  const list = document.createElement('ul');
  for (const check of verdict.checks) {
    const item = document.createElement('li');
    item.textContent = `${check.ok ? 'ok' : 'BROKEN'} — ${check.name}: ${check.detail}`;
    list.append(item);
  }
  box.replaceChildren(title, list);
  $('status').textContent = 'done: press Restart for another run';
  $('status').dataset.state = 'done';
}

function onHello(hello) {
  state.hello = hello;
  state.points = [...hello.history];
  $('scenario').textContent =
    `seed ${hello.seed} · ${hello.tenants.length} tenants · ${hello.backend} · ${hello.speed}× speed · ${hello.timeZone}`;
  $('minutes').textContent = String(hello.minutes);
  $('seed').value = String(hello.seed);
  $('status').textContent = 'running';
  $('status').dataset.state = 'running';
  buildTable(hello);
  buildCharts(hello);
  showControls(hello.controls);
  showVerdict(hello.verdict);
  const last = state.points.at(-1);
  if (last !== undefined) showPoint(last);
  redraw();
}

let frame = 0;
function onPoint(point) {
  state.points.push(point);
  state.received++;
  showPoint(point);
  // Draw at most once per animation frame, however fast points come.
  if (frame !== 0) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    redraw();
  });
}

async function send(path, body) {
  const message = $('message');
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(answer.error ?? `HTTP ${res.status}`);
    message.className = '';
    message.textContent = `set ${JSON.stringify(body)}`;
    if (answer.capacities !== undefined) showControls(answer);
  } catch (error) {
    message.className = 'error';
    message.textContent = error.message;
  }
}

function onSubmit(id, read) {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    const [path, body] = read();
    send(path, body);
  });
}

onSubmit('form-demand', () => ['/api/control', { demand: Number($('demand').value) }]);
onSubmit('form-tokens', () => [
  '/api/control',
  { tokensPerMinute: Number($('tokens-per-minute').value) },
]);
onSubmit('form-dollars', () => [
  '/api/control',
  { usdMicrosPerDay: Math.round(Number($('dollars-per-day').value) * 1e6) },
]);
onSubmit('form-tenant', () => [
  '/api/control',
  { tenantPerMinute: Number($('tenant-per-minute').value) },
]);
onSubmit('form-restart', () => ['/api/restart', { seed: Number($('seed').value) }]);

const events = new EventSource('/events');
events.addEventListener('hello', (e) => onHello(JSON.parse(e.data)));
events.addEventListener('point', (e) => onPoint(JSON.parse(e.data)));
events.addEventListener('controls', (e) => showControls(JSON.parse(e.data)));
events.addEventListener('verdict', (e) => showVerdict(JSON.parse(e.data)));
events.addEventListener('error', () => {
  if (state.verdict === undefined) {
    $('status').textContent = 'reconnecting…';
    $('status').dataset.state = 'connecting';
  }
});
window.addEventListener('resize', () => {
  for (const [name, chart] of Object.entries(state.charts)) {
    chart.setSize({ width: chartWidth($(`chart-${name}`)), height: 200 });
  }
});
