import { type BenchRow, targetsOf } from './row.js';

/**
 * Checks that ids are unique and that every `reference` and target `against` names a row,
 * so a typo in a new row fails at start-up instead of printing `n/a`.
 *
 * @param rows - the registry.
 * @throws Error naming the first problem.
 */
export function validateRegistry(rows: readonly BenchRow[]): void {
  const ids = new Set<string>();
  for (const row of rows) {
    if (ids.has(row.id)) throw new Error(`two rows have the id ${JSON.stringify(row.id)}`);
    ids.add(row.id);
  }
  for (const row of rows) {
    for (const id of dependenciesOf(row)) {
      if (!ids.has(id)) {
        throw new Error(
          `row ${JSON.stringify(row.id)} refers to unknown row ${JSON.stringify(id)}`,
        );
      }
    }
  }
}

/**
 * The rows `--filter` asks for, less those `--skip` names, plus, transitively, the rows their
 * ratios and targets are taken against (even a skipped one), in registry order. No filters
 * asks for everything.
 *
 * @param rows - the registry.
 * @param filters - substrings matched against id and name, case-insensitively.
 * @param skips - substrings matched the same way: rows not asked for, unless a row asked
 * for is compared with them.
 * @returns the selected rows.
 */
export function selectRows(
  rows: readonly BenchRow[],
  filters: readonly string[],
  skips: readonly string[] = [],
): BenchRow[] {
  const matches = (row: BenchRow, texts: readonly string[]): boolean => {
    const haystack = `${row.id} ${row.name}`.toLowerCase();
    return texts.some((text) => haystack.includes(text.toLowerCase()));
  };
  const byId = new Map(rows.map((row) => [row.id, row]));
  const chosen = new Set<string>();
  const add = (row: BenchRow): void => {
    if (chosen.has(row.id)) return;
    chosen.add(row.id);
    for (const id of dependenciesOf(row)) {
      const dependency = byId.get(id);
      if (dependency !== undefined) add(dependency);
    }
  };
  for (const row of rows) {
    if ((filters.length === 0 || matches(row, filters)) && !matches(row, skips)) add(row);
  }
  return rows.filter((row) => chosen.has(row.id));
}

/**
 * The ids a row is compared with: its `reference` first, then each target's `against`.
 *
 * @param row - any row.
 * @returns ids in that order; empty for a reference row without targets.
 */
export function dependenciesOf(row: BenchRow): string[] {
  const ids = targetsOf(row).flatMap((target) =>
    target.against === undefined ? [] : [target.against],
  );
  if (row.reference !== undefined) ids.unshift(row.reference);
  return ids;
}
