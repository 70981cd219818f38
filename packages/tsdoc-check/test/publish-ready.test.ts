// Every package that is not private is ready to publish: the same MIT licence text as the
// repository's, its own README, repository and homepage fields that point at its folder, a
// build in `files`, and a place in the changesets config; the private apps are ignored there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  files?: string[];
  engines?: { node?: string };
  publishConfig?: { access?: string };
}

const workspaces = ['packages', 'apps'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, group, e.name, 'package.json')))
    .map((e) => {
      const dir = `${group}/${e.name}`;
      const manifest = JSON.parse(
        readFileSync(join(root, dir, 'package.json'), 'utf8'),
      ) as Manifest;
      return { dir, manifest };
    }),
);
const published = workspaces.filter((w) => w.manifest.private !== true);
const licence = readFileSync(join(root, 'LICENSE'), 'utf8');
const changesets = JSON.parse(readFileSync(join(root, '.changeset', 'config.json'), 'utf8')) as {
  ignore: string[];
  access: string;
};

describe('publish readiness', () => {
  it('finds the published packages', () => {
    expect(published.map((w) => w.manifest.name)).toEqual(
      expect.arrayContaining(['@budgetry/core', '@budgetry/compose', '@budgetry/testing']),
    );
    expect(licence).toMatch(/^MIT License\n/);
  });

  for (const { dir, manifest } of published) {
    it(`${manifest.name} carries its licence, README and where it comes from`, () => {
      expect(manifest.license).toBe('MIT');
      expect(readFileSync(join(root, dir, 'LICENSE'), 'utf8')).toBe(licence);
      expect(existsSync(join(root, dir, 'README.md'))).toBe(true);
      expect(manifest.repository).toMatchObject({ type: 'git', directory: dir });
      expect(manifest.repository?.url).toMatch(/^git\+https:\/\/github\.com\/[^/]+\/[^/]+\.git$/);
      const repo = manifest.repository!.url!.slice('git+'.length, -'.git'.length);
      expect(manifest.homepage).toBe(`${repo}/tree/main/${dir}#readme`);
      expect(manifest.files).toContain('dist');
      expect(manifest.engines?.node).toBe('>=20');
      expect(manifest.publishConfig?.access).toBe('public');
    });
  }

  it('changesets version the published packages and ignore the private apps', () => {
    const privateApps = workspaces
      .filter((w) => w.dir.startsWith('apps/') && w.manifest.private === true)
      .map((w) => w.manifest.name);
    expect([...changesets.ignore].sort()).toEqual([...privateApps].sort());
    for (const w of published) expect(changesets.ignore).not.toContain(w.manifest.name);
    expect(changesets.access).toBe('public');
  });
});
