import type { SharedRegion } from './region.js';

/**
 * Handles dropped without `close()`: their timer keeps beating through the region, so without
 * this their lease would never run out. When a handle is garbage-collected, its lane's holds
 * are given back and counted as reclaimed.
 */
const dropped = new FinalizationRegistry<SharedRegion>((region) => {
  region.giveBackDropped();
});

/** @internal Watches `handle`: if it is collected while open, its lane is given back. */
export function watchHandle(handle: object, region: SharedRegion): void {
  dropped.register(handle, region, region);
}

/** @internal Stops watching the handle of `region` (it was closed). */
export function unwatchHandle(region: SharedRegion): void {
  dropped.unregister(region);
}
