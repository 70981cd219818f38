// Internal tooling, not published: each published package runs this from a test, so a missing
// TSDoc comment, a missing @example or an example that no longer compiles fails CI.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** What {@link checkTsdoc} found wrong; every list is empty for a well-documented package. */
export interface TsdocReport {
  /** Public names with no TSDoc comment on their declaration. */
  readonly undocumented: string[];
  /** Public names whose TSDoc has no `@example`. */
  readonly withoutExample: string[];
  /** Compiler errors in the examples, as `Name-n.ts: message`. */
  readonly compileErrors: string[];
  /** How many examples were compiled. */
  readonly examples: number;
}

/** Names exported from the package entry (`export { … } from`, `export type { … } from`). */
function publicNames(entryFile: string): Set<string> {
  const entry = ts.createSourceFile(
    entryFile,
    readFileSync(entryFile, 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const names = new Set<string>();
  for (const statement of entry.statements) {
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

interface Declaration {
  readonly name: string;
  readonly documented: boolean;
  readonly examples: string[];
}

function declarationsIn(file: string): Declaration[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const found: Declaration[] = [];
  for (const statement of source.statements) {
    const names = ts.isVariableStatement(statement)
      ? statement.declarationList.declarations.map((d) => d.name.getText())
      : 'name' in statement && statement.name && ts.isIdentifier(statement.name as ts.Node)
        ? [(statement.name as ts.Identifier).text]
        : [];
    for (const name of names) {
      const docs = ts.getJSDocCommentsAndTags(statement).filter(ts.isJSDoc);
      const examples = ts
        .getJSDocTags(statement)
        .filter((tag) => tag.tagName.text === 'example')
        .map((tag) => ts.getTextOfJSDocComment(tag.comment) ?? '')
        .map((text) => /```ts\n([\s\S]*?)```/.exec(text)?.[1] ?? '');
      found.push({ name, documented: docs.length > 0, examples });
    }
  }
  return found;
}

/**
 * Checks the TSDoc of a package's public surface: every name exported from `src/index.ts`
 * is declared with a TSDoc comment that has an `@example`, and every example compiles as a
 * module of its own against the package's `tsconfig.json` (so it imports the package by name,
 * as a user would).
 *
 * @param packageDir - absolute path of the package (holding `package.json`, `tsconfig.json`
 * and `src/`).
 * @returns what is missing or broken.
 */
export function checkTsdoc(packageDir: string): TsdocReport {
  const srcDir = join(packageDir, 'src');
  const wanted = publicNames(join(srcDir, 'index.ts'));
  const declarations = new Map<string, Declaration>();
  for (const name of readdirSync(srcDir)) {
    if (!name.endsWith('.ts') || name.includes('.test') || name === 'index.ts') continue;
    for (const d of declarationsIn(join(srcDir, name))) {
      // Overloads and merged declarations: keep the one that is documented.
      const seen = declarations.get(d.name);
      if (wanted.has(d.name) && (!seen || (!seen.documented && d.documented))) {
        declarations.set(d.name, d);
      } else if (seen && d.examples.length > 0 && seen.examples.length === 0) {
        declarations.set(d.name, d);
      }
    }
  }
  const undocumented = [...wanted].filter((n) => !declarations.get(n)?.documented);
  const withoutExample = [...wanted].filter(
    (n) => declarations.get(n)?.documented && declarations.get(n)!.examples.length === 0,
  );

  const outDir = join(packageDir, 'node_modules', '.tsdoc-examples');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const { name, examples } of declarations.values()) {
    examples.forEach((code, i) => {
      const file = join(outDir, `${name}-${i}.ts`);
      writeFileSync(file, `${code}\nexport {};\n`);
      files.push(file);
    });
  }
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(packageDir, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error(`cannot read ${join(packageDir, 'tsconfig.json')}`);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const compileErrors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map(
      (d) =>
        `${d.file!.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
  return { undocumented, withoutExample, compileErrors, examples: files.length };
}
