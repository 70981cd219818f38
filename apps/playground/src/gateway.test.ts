import { describe, expect, it } from 'vitest';
import { runGateway } from './gateway.js';

describe('gateway scenario', () => {
  it('conserves tokens and dollars, refills the daily cap at local midnight and caps the noisy tenant', () => {
    for (const seed of [1, 2]) {
      const report = runGateway({ seed, log: () => {}, minutes: 3 });
      expect(report.violations).toEqual([]);
      expect(report.tokensConsumed).toBe(report.tokensSettled);
      expect(report.usdConsumed).toBe(report.usdSettled);
      expect(report.dayRefills).toBe(1);
      const acme = report.tenants.acme!;
      expect(acme.denied.tenant ?? 0).toBeGreaterThan(0);
      // Reservations are capped at 24 000 per minute; settled usage may run up to 20 % over.
      expect(acme.tokens).toBeLessThanOrEqual(3 * 24_000 * 1.2);
      for (const t of ['globex', 'initech', 'umbrella']) {
        expect(report.tenants[t]!.granted).toBeGreaterThan(0);
        expect(report.tenants[t]!.denied.tenant ?? 0).toBe(0);
      }
    }
  });

  it('replays exactly from its seed', () => {
    const a = runGateway({ seed: 9, log: () => {}, minutes: 2 });
    const b = runGateway({ seed: 9, log: () => {}, minutes: 2 });
    expect(b).toEqual(a);
  });
});
