// SharedHierarchy in one thread: the same answers as a small model of compose's hierarchy for
// every sequence of calls (differential, through two handles on the same memory, with the
// second handle's holds given back exactly when it closes), tenant keys that are data,
// limits that say which limit was hit, misuse, and leases.
import {
  SharedBudget,
  SharedHierarchy,
  type SharedHierarchyOptions,
  type SharedHierarchyTemplate,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './shared/manual-clock.js';

const open: SharedHierarchy[] = [];
afterEach(() => {
  for (const tree of open.splice(0)) tree.close();
});
function tree(template: SharedHierarchyTemplate, options: SharedHierarchyOptions = {}) {
  const t = new SharedHierarchy(template, { leakBackstop: false, ...options });
  open.push(t);
  return t;
}

const TEMPLATE = { capacity: 30, children: { capacity: 14, children: { capacity: 6 } } };
const CAPS = [30, 14, 6];

/** The model: compose's hierarchy semantics, plus what each handle holds (for close). */
class Model {
  nodes = new Map<string, { cap: number; held: number; own: number; count: number }>();
  byHandle = [new Map<string, number>(), new Map<string, number>()];
  epoch = 0;
  overReleased = 0;
  node(path: readonly string[]) {
    const id = JSON.stringify(path);
    let n = this.nodes.get(id);
    if (n === undefined) {
      n = { cap: CAPS[path.length]!, held: 0, own: 0, count: 0 };
      this.nodes.set(id, n);
    }
    return n;
  }
  chain(path: readonly string[]) {
    return Array.from({ length: path.length + 1 }, (_, i) => this.node(path.slice(0, i)));
  }
  fits(path: readonly string[], cost: number) {
    return this.chain(path).every((n) => n.cap - n.held >= cost);
  }
  charge(path: readonly string[], units: number) {
    for (const n of this.chain(path)) n.held += units;
    this.node(path).own += units;
  }
  reserve(path: readonly string[], cost: number, via: number) {
    if (!this.fits(path, cost)) return false;
    this.charge(path, cost);
    this.node(path).count += cost;
    const id = JSON.stringify(path);
    this.byHandle[via]!.set(id, (this.byHandle[via]!.get(id) ?? 0) + cost);
    return true;
  }
  release(path: readonly string[], cost: number, via: number) {
    const n = this.node(path);
    const accepted = Math.min(cost, n.count);
    this.overReleased += cost - accepted;
    this.charge(path, -accepted);
    n.count -= accepted;
    // A handle's record is net of its releases; a release beyond it released units another
    // handle reserved (one pool per node), whose record stops holding them.
    const id = JSON.stringify(path);
    const mine = this.byHandle[via]!.get(id) ?? 0;
    this.byHandle[via]!.set(id, Math.max(mine - accepted, 0));
    const theirs = this.byHandle[1 - via]!.get(id) ?? 0;
    this.byHandle[1 - via]!.set(id, theirs - Math.min(theirs, Math.max(accepted - mine, 0)));
  }
  refill(times: number) {
    this.epoch += times;
    for (const n of this.nodes.values()) n.held = n.own = n.count = 0;
    for (const m of this.byHandle) m.clear();
  }
  available(path: readonly string[]) {
    return Math.max(0, Math.min(...this.chain(path).map((n) => n.cap - n.held)));
  }
}

interface PermitPair {
  shared: SyncBudgetPermit;
  path: string[];
  cost: number;
  epoch: number;
  via: number;
  settled: boolean;
}

const KEYS = ['a', 'a ', '{"a":1}', ':', '\n', '😀', '\uD800', '\uDBFF', ''];
const pathArb = fc.array(fc.constantFrom(...KEYS), { minLength: 0, maxLength: 2 });
const via = fc.constantFrom(0, 1);
type Op =
  | { op: 'reserve' | 'acquire' | 'release'; path: string[]; cost: number; via: number }
  | { op: 'settle'; index: number; used: number | undefined }
  | { op: 'refill'; times: number; via: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom('reserve', 'acquire', 'release' as const),
    path: pathArb,
    cost: fc.nat(16),
    via,
  }),
  fc.record({
    op: fc.constant('settle' as const),
    index: fc.nat(30),
    used: fc.option(fc.nat(16), { nil: undefined }),
  }),
  fc.record({ op: fc.constant('refill' as const), times: fc.integer({ min: 1, max: 2 }), via }),
);

describe('SharedHierarchy answers as the model of compose’s hierarchy does', () => {
  it('for random call sequences through two handles, and gives back exactly the second’s holds when it closes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 50 }), (ops) => {
        const model = new Model();
        const creator = tree(TEMPLATE);
        const other = SharedHierarchy.open(creator.share(), { leakBackstop: false });
        const handles = [creator, other];
        const at = (v: number, path: readonly string[]) => handles[v]!.at(...path);
        const permits: PermitPair[] = [];
        model.node([]);
        for (const op of ops) {
          if (op.op === 'reserve') {
            expect(at(op.via, op.path).tryReserveSync(op.cost)).toBe(
              model.reserve(op.path, op.cost, op.via),
            );
          } else if (op.op === 'release') {
            at(op.via, op.path).releaseSync(op.cost);
            model.release(op.path, op.cost, op.via);
          } else if (op.op === 'acquire') {
            const fits = model.fits(op.path, op.cost);
            const permit = at(op.via, op.path).tryAcquireSync(op.cost);
            expect(permit !== null).toBe(fits);
            if (permit !== null) {
              model.charge(op.path, op.cost);
              permits.push({ shared: permit, ...op, epoch: model.epoch, settled: false });
            }
          } else if (op.op === 'refill') {
            handles[op.via]!.refill(op.times);
            model.refill(op.times);
          } else if (op.op === 'settle') {
            const p = permits[op.index % Math.max(permits.length, 1)];
            if (p === undefined) continue;
            const used = op.used === undefined ? undefined : Math.min(op.used, p.cost);
            const settled = used === undefined ? p.shared.releaseSync() : p.shared.commitSync(used);
            expect(settled).toBe(!p.settled);
            if (!p.settled && p.epoch === model.epoch)
              model.charge(p.path, -(p.cost - (used ?? 0)));
            p.settled = true;
          }
          for (const [id, n] of model.nodes) {
            const node = at(1, JSON.parse(id) as string[]);
            expect([id, node.held(), node.ownHeld(), node.available()]).toEqual([
              id,
              n.held,
              n.own,
              model.available(JSON.parse(id) as string[]),
            ]);
          }
          expect(creator.snapshot()).toMatchObject({
            epoch: model.epoch,
            overReleased: model.overReleased,
            held: model.node([]).held,
          });
        }
        // Closing the second handle gives back what it holds, exactly: its count units (as far
        // as each node's count pool still holds them) and its live permits.
        for (const [id, units] of model.byHandle[1]!) {
          const path = JSON.parse(id) as string[];
          const pool = model.node(path).count - (model.byHandle[0]!.get(id) ?? 0);
          const counted = Math.max(0, Math.min(units, pool));
          expect(counted).toBe(units); // the records add up to the pools: nothing is clamped
          model.node(path).count -= counted;
          model.charge(path, -counted);
        }
        for (const p of permits) {
          if (p.via === 1 && !p.settled && p.epoch === model.epoch) model.charge(p.path, -p.cost);
        }
        other.close();
        for (const [id, n] of model.nodes) {
          const node = creator.at(...(JSON.parse(id) as string[]));
          expect([id, node.held(), node.ownHeld()]).toEqual([id, n.held, n.own]);
        }
        // Its permits settle, once, and refund nothing: their units came back at close.
        const before = creator.held();
        for (const p of permits) if (p.via === 1) p.shared.releaseSync();
        expect(creator.held()).toBe(before);
      }),
      { numRuns: 120 },
    );
  });
});

describe('SharedHierarchy keys are data', () => {
  const ADVERSARIAL = [
    'a',
    'a ',
    ' a',
    'A',
    'a:b',
    'a',
    '{',
    '}',
    '{}',
    '{"a":1}',
    ':',
    '::',
    ' ',
    '  ',
    '\n',
    '\r\n',
    '\t',
    '\0',
    '',
    '😀',
    '😀😀',
    '\uD83D',
    '\uDE00',
    '\uD800',
    '\uDBFF',
    '\uDFFF',
    '\uD83D\uDE00x',
    'é',
    'e\u0301',
    '\uFFFD',
    '\u00ED\u00A0',
    'a'.repeat(300),
  ];

  it("closing the handle whose units another released gives back none of a third's", () => {
    // c holds 1 000 of its own on t; a reserves 100 that w releases (one pool per node). Which
    // handle's units w released is not known, so no record is debited for them: closing a
    // gives back no more than the node holds beyond the other records, which is nothing.
    // Debiting the first other record (c's, opened first) let a give its 100 back a second time.
    for (const cFirst of [true, false]) {
      const root = tree({ capacity: 1_100, children: { capacity: 1_100 } });
      const o = { leakBackstop: false } as const;
      const [c, a] = cFirst
        ? [SharedHierarchy.open(root.share(), o), SharedHierarchy.open(root.share(), o)]
        : [
            ...[
              SharedHierarchy.open(root.share(), o),
              SharedHierarchy.open(root.share(), o),
            ].reverse(),
          ];
      const w = SharedHierarchy.open(root.share(), o);
      open.push(c!, w);
      expect(c!.child('t').tryReserveSync(1_000)).toBe(true);
      expect(a!.child('t').tryReserveSync(100)).toBe(true);
      w.child('t').releaseSync(100);
      a!.close();
      expect(root.child('t').held()).toBe(1_000);
      expect(w.child('t').tryReserveSync(101)).toBe(false); // 1 100 is the node's capacity
      c!.child('t').releaseSync(1_000);
      expect(root.child('t').held()).toBe(0);
      expect(root.snapshot().overReleased).toBe(0);
    }
    // One handle alone recording units: a hand-off to another frees its record, and closing it
    // gives back nothing more.
    const root = tree({ capacity: 1_100, children: { capacity: 1_100 } });
    const o = { leakBackstop: false } as const;
    const a = SharedHierarchy.open(root.share(), o);
    const w = SharedHierarchy.open(root.share(), o);
    open.push(w);
    expect(a.child('t').tryReserveSync(100)).toBe(true);
    w.child('t').releaseSync(100);
    a.close();
    expect(root.child('t').held()).toBe(0);
    expect(w.child('t').tryReserveSync(1_100)).toBe(true);
    // Hand-offs from two handles on each of 200 nodes: whose units a release took is not known,
    // but the release that drains a node clears every record of it, so neither handle fills
    // its 128 records.
    const many = tree({ capacity: 1_000, children: { capacity: 10 } });
    const [x, y, z] = [0, 1, 2].map(() => SharedHierarchy.open(many.share(), o));
    open.push(x!, y!, z!);
    for (let k = 0; k < 200; k++) {
      const key = `n${k}`;
      expect(x!.child(key).tryReserveSync(1) && y!.child(key).tryReserveSync(1)).toBe(true);
      z!.child(key).releaseSync(1);
      z!.child(key).releaseSync(1);
    }
    expect(many.held()).toBe(0);
    expect(x!.child('last').tryReserveSync(1) && y!.child('last').tryReserveSync(1)).toBe(true);
    // The same when the release that drains each node is a handle's own: x's record of the
    // unit z released for it is cleared then, so x neither fills its 4 records nor makes a
    // later close keep units nobody holds.
    const small = tree({ capacity: 1_000, children: { capacity: 10 } }, { maxHoldsPerHandle: 4 });
    const [p, q, r, s] = [0, 1, 2, 3].map(() => SharedHierarchy.open(small.share(), o));
    open.push(p!, q!, r!);
    for (let k = 0; k < 8; k++) {
      const key = `m${k}`;
      expect(p!.child(key).tryReserveSync(1) && q!.child(key).tryReserveSync(1)).toBe(true);
      r!.child(key).releaseSync(1); // whose unit is not known: no record debited
      q!.child(key).releaseSync(1); // q's own, draining the node
    }
    expect(small.held()).toBe(0);
    expect(s!.child('m0').tryReserveSync(5)).toBe(true);
    s!.close();
    expect(small.held()).toBe(0);
  });

  it('never aliases two keys, across handles, and lists them back as they were given', () => {
    const root = tree({
      capacity: 10_000,
      children: { capacity: 100, children: { capacity: 50 } },
    });
    const distinct = [...new Set(ADVERSARIAL)];
    distinct.forEach((key, i) => {
      expect(root.child(key).tryReserveSync(i + 1)).toBe(true);
    });
    const other = SharedHierarchy.open(root.share());
    distinct.forEach((key, i) => {
      expect([key, other.child(key).held()]).toEqual([key, i + 1]);
      expect(other.has(key)).toBe(true);
    });
    expect(other.has('never')).toBe(false);
    expect(other.size).toBe(distinct.length);
    expect(new Set(other.keys())).toEqual(new Set(distinct));
    // The same key under two parents is two nodes.
    expect(root.at('a', '😀').tryReserveSync(7)).toBe(true);
    expect(other.at('😀', '😀').held()).toBe(0);
    expect(other.at('a', '😀').held()).toBe(7);
    expect(other.at('a', '😀').path).toEqual(['a', '😀']);
    expect(root.snapshot().nodes).toBe(1 + distinct.length + 2);
    other.close();
  });

  it('keeps thousands of siblings apart in a nearly full table', () => {
    const root = tree(
      { capacity: 1e9, children: { capacity: 10 } },
      { maxNodes: 3_001, maxHoldsPerHandle: 4_096 },
    );
    for (let i = 0; i < 3_000; i++) expect(root.child(`t${i}`).tryReserveSync(i % 10)).toBe(true);
    const other = SharedHierarchy.open(root.share());
    for (let i = 0; i < 3_000; i++) expect(other.child(`t${i}`).held()).toBe(i % 10);
    other.close();
  });
});

describe('SharedHierarchy limits', () => {
  const expectBackend = (call: () => unknown, pattern: RegExp) =>
    expect(call).toThrow(
      expect.objectContaining({ code: 'BACKEND', message: expect.stringMatching(pattern) }),
    );

  it('says which limit is full and how to raise it, and changes nothing', () => {
    const root = tree(
      { capacity: 100, children: { capacity: 10 } },
      { maxNodes: 3, maxKeyBytes: 8 },
    );
    root.child('abc').tryReserveSync(1);
    expectBackend(() => root.child('123456'), /maxKeyBytes/);
    root.child('12345');
    expectBackend(() => root.child('x'), /all 3 nodes .*larger maxNodes/);
    expect(root.snapshot()).toMatchObject({ nodes: 3, keyBytes: 8, held: 1 });
    expect(root.child('abc').tryReserveSync(2)).toBe(true); // existing nodes still work
  });

  it('bounds the nodes one handle holds on at once, and frees a record once it holds nothing', () => {
    const root = tree({ capacity: 100, children: { capacity: 10 } }, { maxHoldsPerHandle: 2 });
    expect(root.child('a').tryReserveSync(1)).toBe(true);
    const permit = root.child('b').tryAcquireSync(1)!;
    expectBackend(() => root.child('c').tryReserveSync(1), /maxHoldsPerHandle/);
    expect(root.child('c').tryReserveSync(0)).toBe(true); // holding nothing needs no record
    expect(root.held()).toBe(2);
    permit.releaseSync();
    expect(root.child('c').tryReserveSync(1)).toBe(true);
    const other = SharedHierarchy.open(root.share()); // another handle has its own records
    expect(other.child('d').tryReserveSync(1)).toBe(true);
    other.close();
    expect(root.held()).toBe(2);
  });

  it('rejects bad templates, options, keys and amounts with typed errors', () => {
    const bad = (template: unknown, options?: unknown) => () =>
      new SharedHierarchy(template as never, options as never);
    const cyclic: { capacity: number; children?: unknown } = { capacity: 1 };
    cyclic.children = cyclic;
    for (const [call, code] of [
      [bad(null), 'INVALID_ARGUMENT'],
      [bad({ capacity: -1 }), 'INVALID_AMOUNT'],
      [bad(cyclic), 'INVALID_ARGUMENT'],
      [
        bad({
          capacity: 1,
          children: {
            capacity: 1,
            children: {
              capacity: 1,
              children: { capacity: 1, children: { capacity: 1, children: { capacity: 1 } } },
            },
          },
        }),
        'INVALID_ARGUMENT',
      ],
      [bad({ capacity: 1 }, { maxNodes: 0 }), 'INVALID_ARGUMENT'],
      [bad({ capacity: 1 }, { maxHoldsPerHandle: 1.5 }), 'INVALID_ARGUMENT'],
      [bad({ capacity: 1 }, { clock: {} }), 'INVALID_ARGUMENT'],
    ] as const) {
      expect(call).toThrow(expect.objectContaining({ code }));
    }
    const root = tree({ capacity: 10, children: { capacity: 5 } });
    expect(() => root.child(5 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => root.at('a', 'b')).toThrow(/no template for children/);
    for (const cost of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => root.child('a').tryReserveSync(cost)).toThrow(
        expect.objectContaining({ code: 'INVALID_AMOUNT' }),
      );
      expect(() => root.child('a').releaseSync(cost)).toThrow(
        expect.objectContaining({ code: 'INVALID_AMOUNT' }),
      );
    }
    expect(root.child('a').tryReserveSync(4)).toBe(true);
    expect(() => root.child('a', { capacity: 3 })).toThrow(/below the 4 units/);
    root.child('a', { capacity: 20 }); // a child may be given more than its parent
    expect(root.child('a').capacity).toBe(20);
    expect(root.child('a').available()).toBe(6); // the root is the tighter one
    expect(root.child('a').pathCapacity()).toBe(10);
  });

  it('refuses descriptors that are not its own, and closes for every handle', () => {
    const root = tree({ capacity: 10, children: { capacity: 5 } });
    const budget = new SharedBudget(5);
    expect(() => SharedHierarchy.open(budget.share())).toThrow(/open it with SharedBudget.open/);
    expect(() => SharedBudget.open(root.share() as never)).toThrow(
      /open it with SharedHierarchy.open/,
    );
    expect(() => SharedHierarchy.open(JSON.parse(JSON.stringify(root.share())))).toThrow(
      /not a SharedArrayBuffer/,
    );
    budget.close();
    const other = SharedHierarchy.open(root.share());
    const node = other.child('a');
    root.close();
    expect(() => node.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => SharedHierarchy.open(root.share())).toThrow(
      expect.objectContaining({ code: 'CLOSED' }),
    );
    other.close();
  });
});

describe('SharedHierarchy refills and leases', () => {
  it('a refill of the root fences every node below, and permits from before refund nothing', () => {
    const root = tree(TEMPLATE);
    const leaf = root.at('x', 'y');
    const permit = leaf.tryAcquireSync(5)!;
    expect(leaf.tryReserveSync(1)).toBe(true);
    root.refill();
    expect([root.held(), root.child('x').held(), leaf.held(), leaf.available()]).toEqual([
      0, 0, 0, 6,
    ]);
    expect(permit.commitSync(2)).toBe(true);
    leaf.releaseSync(1); // over-released: the count pool of the new epoch is empty
    expect(root.snapshot()).toMatchObject({ held: 0, overReleased: 1, epoch: 1 });
    expect(root.capabilities.schedulable).toBe(true);
    expect(leaf.capabilities.schedulable).toBe(false);
    let due = false;
    const detach = root.followSchedule(() => {
      if (due) {
        due = false;
        root.refill();
      }
    });
    leaf.tryReserveSync(3);
    due = true;
    expect(leaf.held()).toBe(0);
    detach();
  });

  it("gives back exactly a silent handle's holds, node by node, once", () => {
    const clock = new ManualClock();
    const root = tree(TEMPLATE, { leaseMs: 1_000, clock });
    const silent = SharedHierarchy.open(root.share(), { clock, leakBackstop: false });
    expect(silent.at('a', 'b').tryReserveSync(3)).toBe(true);
    const permit = silent.at('a').tryAcquireSync(4)!;
    expect(silent.at('c', 'd').tryAcquireSync(2)).not.toBeNull();
    silent.at('c', 'd').tryAcquireSync(1)!.commitSync(1); // committed: stays spent
    expect(root.at('a', 'b').tryReserveSync(1)).toBe(true);
    (
      silent as unknown as { tree: { region: { stopHeartbeat(): void } } }
    ).tree.region.stopHeartbeat();
    clock.advance(900);
    expect(root.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    clock.advance(200);
    expect(root.reclaimExpired()).toEqual({ handles: 1, units: 9 });
    expect(root.reclaimExpired()).toEqual({ handles: 0, units: 0 });
    expect([
      root.held(),
      root.at('a').held(),
      root.at('a', 'b').held(),
      root.at('c', 'd').held(),
    ]).toEqual([2, 1, 1, 1]);
    expect(() => silent.at('a').tryReserveSync(1)).toThrow(
      expect.objectContaining({ code: 'LEASE_EXPIRED' }),
    );
    expect(permit.commitSync(1)).toBe(true); // settles, refunds nothing
    expect(root.snapshot()).toMatchObject({ held: 2, reclaimed: 9, reclaimedHandles: 1 });
  });

  it('a count release of another handle’s units moves them out of its record, so its close gives back only its own', () => {
    const root = tree(TEMPLATE);
    const other = SharedHierarchy.open(root.share());
    expect(other.at('x', 'y').tryReserveSync(5)).toBe(true);
    root.at('x', 'y').releaseSync(5); // the pool is one per node: other's 5 come back
    expect(root.at('x', 'y').tryReserveSync(5)).toBe(true); // now the creator's
    other.close();
    expect([root.held(), root.at('x', 'y').held()]).toEqual([5, 5]);
    root.at('x', 'y').releaseSync(5);
    expect(root.snapshot()).toMatchObject({ held: 0, overReleased: 0 });
  });

  it('under a refill, gives back only holds of the live epoch', () => {
    const clock = new ManualClock();
    const root = tree(TEMPLATE, { leaseMs: 1_000, clock });
    const silent = SharedHierarchy.open(root.share(), { clock });
    silent.at('a', 'b').tryReserveSync(6);
    root.refill();
    silent.at('a', 'b').tryAcquireSync(2);
    (
      silent as unknown as { tree: { region: { stopHeartbeat(): void } } }
    ).tree.region.stopHeartbeat();
    clock.advance(5_000);
    expect(root.reclaimExpired()).toEqual({ handles: 1, units: 2 });
    expect(root.snapshot()).toMatchObject({ held: 0, available: 30 });
  });
});
