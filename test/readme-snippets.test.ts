import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Every code block of the README and docs/ runs as written, in a scratch project that
 * installs openreg as a user would (node_modules/openreg, cwd at the project). A block may
 * be preceded by a directive comment:
 *
 *   <!-- snippet file=kernels.js -->          the block is a file other blocks use; written, not run
 *   <!-- snippet excerpt=src/ops/x.ts -->     the block quotes a source file: its code lines appear there, in order
 *   <!-- snippet throws=ERR_X               the block ends by throwing an OpenRegError with that code
 *   const rt = await Runtime.create();      lines up to `-->` are hidden set-up, run before the block
 *   -->
 *
 * A ts/js block with no directive runs as it stands, so a fragment added without its
 * set-up fails here.
 */

const root = fileURLToPath(new URL('..', import.meta.url));

interface Snippet {
  readonly doc: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  readonly file?: string;
  readonly excerpt?: string;
  readonly throws?: string;
  readonly setup: string;
}

function snippetsOf(doc: string): Snippet[] {
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  const found: Snippet[] = [];
  let directive: { keys: Record<string, string>; setup: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('<!-- snippet')) {
      const head = line.slice('<!-- snippet'.length).replace(/-->\s*$/, '');
      const keys = Object.fromEntries(head.trim().split(/\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string]));
      const setup: string[] = [];
      if (!line.trimEnd().endsWith('-->')) {
        for (i++; !lines[i]!.startsWith('-->'); i++) setup.push(lines[i]!);
      }
      directive = { keys, setup: setup.join('\n') };
      continue;
    }
    const fence = /^```(\w*)$/.exec(line);
    if (!fence) {
      if (line.trim() !== '') directive = undefined;
      continue;
    }
    const start = i + 1;
    for (i++; lines[i] !== '```'; i++);
    const lang = fence[1]!;
    if (['ts', 'js', 'jsonc'].includes(lang) || directive) {
      found.push({
        doc,
        line: start,
        lang,
        code: lines.slice(start, i).join('\n'),
        file: directive?.keys.file,
        excerpt: directive?.keys.excerpt,
        throws: directive?.keys.throws,
        setup: directive?.setup ?? '',
      });
    }
    directive = undefined;
  }
  return found;
}

const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const snippets = docs.flatMap(snippetsOf);

// A scratch project: openreg installed by symlink, plus what snippets import besides it.
const project = mkdtempSync(join(tmpdir(), 'openreg-readme-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(root, join(project, 'node_modules', 'openreg'), 'dir');
symlinkSync(join(root, 'node_modules', 'tinybench'), join(project, 'node_modules', 'tinybench'), 'dir');
symlinkSync(join(root, 'node_modules', '@tensorflow'), join(project, 'node_modules', '@tensorflow'), 'dir');
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-snippets', private: true, type: 'module' }));
// A kernel for fragments that only need one to exist ("rt.launchKernel(k, …) runs on s").
writeFileSync(join(project, 'touch.mjs'), 'export function touch() {}\n');
for (const s of snippets.filter((s) => s.file)) {
  mkdirSync(dirname(join(project, s.file!)), { recursive: true });
  writeFileSync(join(project, s.file!), s.lang === 'jsonc' ? s.code.replace(/^\s*\/\/.*$/gm, '') : s.code);
}
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** The block as a module: its imports and the set-up's first, then the set-up, then the block. */
function moduleOf(s: Snippet): string {
  const isImport = (l: string) => /^import .* from '[^']+';$/.test(l);
  const all = `${s.setup}\n${s.code}`.split('\n');
  const body = (text: string) => text.split('\n').filter((l) => !isImport(l)).join('\n');
  const source = [...new Set(all.filter(isImport))].join('\n') + '\n' + body(s.setup) + '\n' + body(s.code) + '\n';
  const out = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    reportDiagnostics: true,
  });
  expect(out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')) ?? []).toEqual([]);
  return out.outputText;
}

function run(s: Snippet) {
  const file = join(project, `snippet-${s.doc.replace(/\W/g, '_')}-${s.line}.mjs`);
  writeFileSync(file, moduleOf(s));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPENREG_')));
  return spawnSync(process.execPath, [file], { cwd: project, env, encoding: 'utf8', timeout: 60_000 });
}

const code = (text: string) => text.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');

describe('the documentation', () => {
  it('has code blocks, and every one of them is run, written as a file, or checked as an excerpt', () => {
    expect(snippets.length).toBeGreaterThan(20);
    for (const s of snippets) {
      if (s.lang === 'jsonc') expect(s.file, `${s.doc}:${s.line}`).toBeDefined();
    }
  });

  it('links only to files and headings that exist', () => {
    const anchorsOf = (file: string) =>
      new Set([...readFileSync(join(root, file), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    const broken: string[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(root, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? doc : join(dirname(doc), path);
        let ok = true;
        try {
          readFileSync(join(root, file));
        } catch {
          ok = false;
        }
        if (ok && anchor !== undefined && file.endsWith('.md')) ok = anchorsOf(file).has(anchor);
        if (!ok) broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  for (const s of snippets.filter((s) => s.excerpt)) {
    it(`${s.doc}:${s.line} quotes ${s.excerpt} as it is`, () => {
      const source = code(readFileSync(join(root, s.excerpt!), 'utf8'));
      let from = 0;
      for (const line of s.code.split('\n').map(code).filter(Boolean)) {
        const at = source.indexOf(line, from);
        expect(at, `${line} in ${s.excerpt}`).toBeGreaterThanOrEqual(0);
        from = at + line.length;
      }
    });
  }

  for (const s of snippets.filter((s) => !s.file && !s.excerpt)) {
    const what = s.throws ? `runs up to its documented ${s.throws}` : 'runs as written';
    it(`${s.doc}:${s.line} ${what}`, () => {
      const r = run(s);
      expect(r.error).toBeUndefined();
      if (s.throws) {
        expect(r.status, r.stderr).not.toBe(0);
        expect(r.stderr).toContain(`code: '${s.throws}'`);
      } else {
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
    });
  }
});
