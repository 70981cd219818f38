/** @internal A budget's numeric `epoch`, if it has one. */
export function epochOf(budget: unknown): number | undefined {
  const epoch = (budget as { epoch?: unknown }).epoch;
  return typeof epoch === 'number' ? epoch : undefined;
}
