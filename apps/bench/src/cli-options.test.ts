import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliOptions } from './cli-options.js';

describe('parseCliOptions', () => {
  it('defaults to a full run without JSON output', () => {
    expect(parseCliOptions([])).toEqual({
      quick: false,
      jsonPath: undefined,
      filters: [],
      skips: [],
      oneProcess: false,
      help: false,
    });
  });

  it('skips the literal -- that pnpm passes through from the root script', () => {
    const options = parseCliOptions(['--', '--quick', '--json', 'out.json']);
    expect(options.quick).toBe(true);
    expect(options.jsonPath).toBe('out.json');
  });

  it('accepts --json=FILE and repeated --filter', () => {
    const options = parseCliOptions(['--json=a/b.json', '--filter', 'plain', '--filter=rlf']);
    expect(options.jsonPath).toBe('a/b.json');
    expect(options.filters).toEqual(['plain', 'rlf']);
  });

  it('accepts repeated --skip, as --skip TEXT or --skip=TEXT', () => {
    expect(parseCliOptions(['--skip', 'young', '--skip=redis']).skips).toEqual(['young', 'redis']);
    expect(() => parseCliOptions(['--skip'])).toThrow(/--skip needs a value/);
  });

  it('rejects an option missing its value', () => {
    expect(() => parseCliOptions(['--json'])).toThrow(CliUsageError);
    expect(() => parseCliOptions(['--json', '--quick'])).toThrow(/--json needs a value/);
    expect(() => parseCliOptions(['--json='])).toThrow(/--json needs a value/);
  });

  it('rejects unknown arguments and a value given to --quick', () => {
    expect(() => parseCliOptions(['--fast'])).toThrow(/unknown argument "--fast"/);
    expect(() => parseCliOptions(['out.json'])).toThrow(CliUsageError);
    expect(() => parseCliOptions(['--quick=yes'])).toThrow(/takes no value/);
  });

  it('turns process isolation off with --one-process, which takes no value', () => {
    expect(parseCliOptions(['--quick', '--one-process']).oneProcess).toBe(true);
    expect(() => parseCliOptions(['--one-process=1'])).toThrow(/takes no value/);
  });

  it('recognizes --help and -h', () => {
    expect(parseCliOptions(['--help']).help).toBe(true);
    expect(parseCliOptions(['-h']).help).toBe(true);
  });
});
