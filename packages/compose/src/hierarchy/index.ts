export {
  HierarchyNode,
  type HierarchyOptions,
  type HierarchyRoot,
  type HierarchyTemplate,
  hierarchy,
} from './hierarchy.js';
