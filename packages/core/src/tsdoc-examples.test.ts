// Every export of @budgetry/core has TSDoc with an `@example`, and every example compiles
// against the package's public entry point under the repository's strict compiler options.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const srcDir = dirname(fileURLToPath(import.meta.url));
const packageDir = dirname(srcDir);
const sourceFiles = readdirSync(srcDir)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'index.ts')
  .map((name) => join(srcDir, name));

function publicNames(): Set<string> {
  const index = ts.createSourceFile(
    'index.ts',
    readFileSync(join(srcDir, 'index.ts'), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const names = new Set<string>();
  for (const statement of index.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const element of statement.exportClause.elements) names.add(element.name.text);
    }
  }
  return names;
}

interface Documented {
  name: string;
  file: string;
  examples: string[];
}

function documentedExports(): Documented[] {
  const wanted = publicNames();
  const found: Documented[] = [];
  for (const file of sourceFiles) {
    const source = ts.createSourceFile(
      file,
      readFileSync(file, 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    for (const statement of source.statements) {
      const declarations = ts.isVariableStatement(statement)
        ? statement.declarationList.declarations.map((d) => ({
            node: statement,
            name: d.name.getText(),
          }))
        : 'name' in statement && statement.name && ts.isIdentifier(statement.name as ts.Node)
          ? [{ node: statement, name: (statement.name as ts.Identifier).text }]
          : [];
      for (const { node, name } of declarations) {
        if (!wanted.has(name)) continue;
        const examples = ts
          .getJSDocTags(node)
          .filter((tag) => tag.tagName.text === 'example')
          .map((tag) => ts.getTextOfJSDocComment(tag.comment) ?? '')
          .map((text) => /```ts\n([\s\S]*?)```/.exec(text)?.[1] ?? '');
        found.push({ name, file, examples });
      }
    }
  }
  return found;
}

describe('TSDoc', () => {
  const exported = documentedExports();

  it('documents every public export of the package', () => {
    const documentedNames = new Set(exported.map((e) => e.name));
    expect([...publicNames()].filter((name) => !documentedNames.has(name))).toEqual([]);
  });

  it('gives every public export an @example', () => {
    expect(exported.filter((e) => e.examples.length === 0).map((e) => e.name)).toEqual([]);
  });

  it('has examples that compile against the public API', () => {
    const outDir = join(packageDir, 'node_modules', '.tsdoc-examples');
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const files: string[] = [];
    for (const { name, examples } of exported) {
      examples.forEach((code, i) => {
        const file = join(outDir, `${name}-${i}.ts`);
        // Each example is a module of its own so top-level await and `using` are allowed.
        writeFileSync(file, `${code}\nexport {};\n`);
        files.push(file);
      });
    }
    const configPath = join(packageDir, 'tsconfig.json');
    const config = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => {},
      },
    )!;
    const program = ts.createProgram(files, {
      ...config.options,
      noEmit: true,
      noUnusedLocals: false,
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.includes(d.file.fileName))
      .map(
        (d) =>
          `${d.file!.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    expect(diagnostics).toEqual([]);
  }, 60_000);
});
