import {
  bufferBytes,
  H_CLOSED,
  H_KIND,
  H_MAGIC,
  H_PID,
  H_VERSION,
  KIND_GUARD,
  KIND_HIERARCHY,
  LAYOUT_VERSION,
  MAGIC,
} from './layout.js';
import {
  closedError,
  currentPid,
  DESCRIPTOR_TYPE,
  invalidDescriptor,
  type SharedBudgetDescriptor,
} from './memory.js';

/**
 * @internal Checks a descriptor received from another thread: one of ours, of `kind`, of this
 * layout version, from this process, not closed.
 *
 * @returns the descriptor, narrowed.
 */
export function checkDescriptor(descriptor: unknown, kind: number): SharedBudgetDescriptor {
  if (typeof descriptor !== 'object' || descriptor === null) {
    throw invalidDescriptor(
      `open expects the descriptor a shared budget's share() returned, got ${descriptor === null ? 'null' : typeof descriptor}`,
    );
  }
  const d = descriptor as Partial<SharedBudgetDescriptor>;
  if (d.type !== DESCRIPTOR_TYPE) {
    throw invalidDescriptor(`not a shared budget descriptor (type ${String(d.type)})`);
  }
  if (!(d.buffer instanceof SharedArrayBuffer)) {
    throw invalidDescriptor(
      "the descriptor's buffer is not a SharedArrayBuffer: a descriptor reaches worker threads " +
        'of the same process through postMessage; serialized, or sent to another process, it ' +
        'cannot be reopened',
    );
  }
  if (d.buffer.byteLength < bufferBytes(0, 0)) {
    throw invalidDescriptor('the descriptor’s buffer is too small to hold a shared budget');
  }
  const i32 = new Int32Array(d.buffer, 0, 16);
  if (i32[H_MAGIC] !== MAGIC) {
    throw invalidDescriptor("the descriptor's buffer does not hold a budgetry shared budget");
  }
  if (d.version !== LAYOUT_VERSION || i32[H_VERSION] !== LAYOUT_VERSION) {
    throw invalidDescriptor(
      `the shared budget has layout version ${String(d.version)}; this budgetry reads layout ${LAYOUT_VERSION}: open it with the same budgetry version that created it`,
      { version: d.version, expected: LAYOUT_VERSION },
    );
  }
  if (i32[H_KIND] !== kind) {
    const made =
      i32[H_KIND] === KIND_GUARD
        ? 'SharedBudget'
        : i32[H_KIND] === KIND_HIERARCHY
          ? 'SharedHierarchy'
          : 'SharedTokenBudget';
    throw invalidDescriptor(`the descriptor is of a ${made}; open it with ${made}.open`);
  }
  if (i32[H_PID] !== currentPid()) {
    throw invalidDescriptor(
      `the descriptor comes from another process (pid ${i32[H_PID]}); shared budgets are shared between threads of one process`,
    );
  }
  if (Atomics.load(i32, H_CLOSED) !== 0) {
    throw closedError(d.name);
  }
  return d as SharedBudgetDescriptor;
}
