export { hierarchy } from './hierarchy.js';
export { HierarchyNode } from './node.js';
export type { HierarchyOptions, HierarchyRoot, HierarchyTemplate } from './types.js';
