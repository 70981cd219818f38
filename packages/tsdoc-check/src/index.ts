// Internal tooling, not published: each published package runs this from a test, so a missing
// TSDoc comment, a missing @example or an example that no longer compiles fails CI.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export { readmeExamples } from './readme-examples.js';

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
      // Names re-exported from another package are documented there.
      statement.moduleSpecifier !== undefined &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text.startsWith('.') &&
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
  // Sources may sit in folders (spec/, budgets/, all-of/ ...): every .ts file below src/.
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter(
    (name) => name.endsWith('.ts') && !name.includes('.test') && name !== 'index.ts',
  );
  for (const name of files) {
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

  const sources: [string, string][] = [];
  for (const { name, examples } of declarations.values()) {
    examples.forEach((code, i) => {
      sources.push([`${name}-${i}.ts`, code]);
    });
  }
  const compileErrors = compileModules(packageDir, '.tsdoc-examples', sources);
  return { undocumented, withoutExample, compileErrors, examples: sources.length };
}

/**
 * Compiles each snippet as a module of its own, resolved from `packageDir` with its
 * `tsconfig.json`, and returns the compiler's errors as `file: message` lines.
 */
function compileModules(packageDir: string, folder: string, sources: [string, string][]): string[] {
  const outDir = join(packageDir, 'node_modules', folder);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const files = sources.map(([name, code]) => {
    const file = join(outDir, name);
    writeFileSync(file, `${code}\nexport {};\n`);
    return file;
  });
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(packageDir, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error(`cannot read ${join(packageDir, 'tsconfig.json')}`);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map(
      (d) =>
        `${d.file!.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
}

/** What {@link checkMarkdownExamples} found. */
export interface MarkdownReport {
  /** How many ```ts blocks were compiled. */
  readonly examples: number;
  /** Compiler errors, as `block-n.ts: message` (n counts from 1 in document order). */
  readonly compileErrors: string[];
}

/**
 * Compiles every ```ts block of a Markdown file as a module of its own, resolved from
 * `packageDir` (which must depend on every package the blocks import). `ambient` holds
 * declarations a README leaves to the reader (`callModel()`, a variable built in an earlier
 * block), keyed by the name they declare; each is added to the blocks that use the name
 * without declaring it.
 *
 * @param markdownFile - the README to check.
 * @param packageDir - where to resolve imports from (its `tsconfig.json` is used).
 * @param ambient - declarations by name, added where a block needs them.
 * @returns the number of blocks and the compiler's errors.
 */
export function checkMarkdownExamples(
  markdownFile: string,
  packageDir: string,
  ambient: Readonly<Record<string, string>> = {},
): MarkdownReport {
  const text = readFileSync(markdownFile, 'utf8');
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const folder = `.md-examples-${markdownFile.replace(/[^a-zA-Z0-9]+/g, '-')}`;
  const sources = blocks.map((code, i): [string, string] => {
    const declares = (name: string) =>
      new RegExp(`\\b(const|let|var|function|class)\\s+${name}\\b`).test(code);
    const uses = (name: string) => new RegExp(`\\b${name}\\b`).test(code);
    const prelude = Object.entries(ambient)
      .filter(([name]) => uses(name) && !declares(name))
      .map(([, declaration]) => declaration)
      .join('\n');
    // Imports must stay first in a module; the prelude goes after the last of them.
    const parsed = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest);
    const imports = parsed.statements.filter(ts.isImportDeclaration);
    const at = imports.length > 0 ? imports[imports.length - 1]!.end : 0;
    return [`block-${i + 1}.ts`, `${code.slice(0, at)}\n${prelude}\n${code.slice(at)}`];
  });
  return { examples: blocks.length, compileErrors: compileModules(packageDir, folder, sources) };
}
