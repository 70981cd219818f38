export { hierarchy } from './hierarchy.js';
export type { HierarchyEvent, HierarchyListener } from './listeners.js';
export { HierarchyNode } from './node.js';
export type { HierarchyOptions, HierarchyRoot, HierarchyTemplate } from './types.js';
