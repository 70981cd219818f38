/**
 * @internal Tenant keys of a `SharedHierarchy` as bytes: encoded and hashed before the lock is
 * taken, compared byte for byte under it. Keys are data, never syntax: any string is a key,
 * and two different strings never share bytes.
 *
 * Well-formed strings are UTF-8 (`TextEncoder`). A string with a lone surrogate, which UTF-8
 * cannot carry (`TextEncoder` would turn it into U+FFFD, so `'\uD800'` and `'\uDBFF'` would
 * collide), is encoded as WTF-8: each lone surrogate as the three bytes its code point would
 * take. The encoding is injective either way, and agrees with UTF-8 where both apply.
 */

import { N_KEY_LEN, N_KEY_OFF, N_PARENT, T_NODES } from './hierarchy-layout.js';
import type { HierarchyTree } from './hierarchy-tree.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

type MaybeWellFormed = { isWellFormed?: () => boolean };

function wellFormed(key: string): boolean {
  const check = (key as unknown as MaybeWellFormed).isWellFormed;
  if (typeof check === 'function') return check.call(key);
  return !/[\uD800-\uDFFF]/.test(key.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}

/** The bytes of `key` (see the module's comment). */
export function encodeKey(key: string): Uint8Array {
  if (wellFormed(key)) return encoder.encode(key);
  const out: number[] = [];
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < key.length) {
      const d = key.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
  }
  return Uint8Array.from(out);
}

/** The key `bytes` encode (the inverse of {@link encodeKey}). */
export function decodeKey(bytes: Uint8Array): string {
  // A lone surrogate's three bytes start with 0xED and a byte from 0xA0: only then decode by hand.
  let plain = true;
  for (let i = 0; i + 1 < bytes.length && plain; i++) {
    if (bytes[i] === 0xed && bytes[i + 1]! >= 0xa0) plain = false;
  }
  if (plain) return decoder.decode(bytes);
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let c: number;
    if (b < 0x80) {
      c = b;
      i += 1;
    } else if (b < 0xe0) {
      c = ((b & 31) << 6) | (bytes[i + 1]! & 63);
      i += 2;
    } else if (b < 0xf0) {
      c = ((b & 15) << 12) | ((bytes[i + 1]! & 63) << 6) | (bytes[i + 2]! & 63);
      i += 3;
    } else {
      c =
        ((b & 7) << 18) |
        ((bytes[i + 1]! & 63) << 12) |
        ((bytes[i + 2]! & 63) << 6) |
        (bytes[i + 3]! & 63);
      i += 4;
    }
    out += String.fromCodePoint(c);
  }
  return out;
}

/**
 * A 32-bit hash of `bytes` under node `parent`: FNV-1a over the bytes, mixed with the parent
 * and finished with murmur3's avalanche, so siblings of one parent and equal keys under
 * different parents spread over the table alike.
 */
export function hashKey(bytes: Uint8Array, parent: number): number {
  let h = 0x811c9dc5 ^ Math.imul(parent + 1, 0x9e3779b1);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Whether `parent` has a child under `key` in `tree`, made by any thread. Makes nothing. */
export function hasChild(tree: HierarchyTree, parent: number, key: string): boolean {
  const bytes = encodeKey(key);
  const hash = hashKey(bytes, parent);
  tree.lock();
  const { node } = tree.findChild(parent, bytes, hash);
  tree.unlock();
  return node >= 0;
}

/** The keys of `parent`'s children in `tree`, made by any thread. */
export function childKeys(tree: HierarchyTree, parent: number): string[] {
  const { i32, u8, layout } = tree;
  const keys: Uint8Array[] = [];
  tree.lock();
  const used = i32[layout.headerI32 + T_NODES]!;
  for (let n = 1; n < used; n++) {
    const ni = layout.nodeI32(n);
    if (i32[ni + N_PARENT] !== parent) continue;
    const off = layout.keys + i32[ni + N_KEY_OFF]!;
    keys.push(u8.slice(off, off + i32[ni + N_KEY_LEN]!));
  }
  tree.unlock();
  return keys.map(decodeKey);
}
