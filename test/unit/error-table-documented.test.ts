import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, errorNumber } from '../../src/errors/error-code.js';
import { MESSAGES, formatMessage, openRegError } from '../../src/errors/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the error table', () => {
  it.each(Object.values(ErrorCode))('documents code %s with its CUDA number in the README', (code) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
    expect(row, `README has no table row for ${code}`).toBeDefined();
    if (errorNumber[code] < 10000) expect(row).toContain(`(${errorNumber[code]})`);
  });

  it.each(Object.entries(MESSAGES))('documents message template %s in the README', (name, { code, template }) => {
    const row = readme.split('\n').find((line) => line.includes(`\`${template}\``) && line.includes(`\`${code}\``));
    expect(row, `README does not list the template of ${name} with ${code}: ${template}`).toBeDefined();
  });

  it('fills every field of a template and keeps the code', () => {
    const error = openRegError('outOfStreams', { call: 'streamCreate', device: 1, count: 255 }, 1);
    expect(error.code).toBe(ErrorCode.OUT_OF_MEMORY);
    expect(error.device).toBe(1);
    expect(error.message).toBe('streamCreate: device 1 has no free stream (all 255 are in use)');
    expect(formatMessage('runtimeClosed', {})).toBe('{call}: the runtime is closed');
  });

  it('starts every template that names a call with it', () => {
    for (const { template } of Object.values(MESSAGES)) {
      if (template.includes('{call}')) expect(template.startsWith('{call}: ')).toBe(true);
    }
  });
});
