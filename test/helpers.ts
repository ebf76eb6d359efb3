import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { type KernelModule, OpenRegError, Runtime, type RuntimeOptions, shutdownCpuPool } from '../dist/src/index.js';

export const kernelsUrl = new URL('./fixtures/kernels.mjs', import.meta.url);

/** A runtime small enough to start quickly; tests close it in afterAll/finally. */
export function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.create({ deviceMemoryBytes: 8 << 20, hostMemoryBytes: 8 << 20, stagingBytes: 1 << 20, ...options });
}

/** Asserts that `fn` throws an OpenRegError with `code` and returns it. */
export function expectCode(fn: () => unknown, code: string): OpenRegError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(OpenRegError);
  expect((caught as OpenRegError).code).toBe(code);
  return caught as OpenRegError;
}

/** Asserts that a promise rejects with an OpenRegError with `code`. */
export async function expectRejectCode(promise: Promise<unknown>, code: string): Promise<OpenRegError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected rejection with ${code}`).toBeInstanceOf(OpenRegError);
  expect((caught as OpenRegError).code).toBe(code);
  return caught as OpenRegError;
}

/**
 * A gate for a stream: a host function whose promise settles only when `open()` is
 * called. Work enqueued after it waits; the device worker stays free for other streams.
 */
export function gate(rt: Runtime, stream: Parameters<Runtime['launchHostFunc']>[0]): { open: () => void; started: Promise<void> } {
  let open!: () => void;
  let start!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  // Resolves once the host function runs: from then on its promise is pending on the stream.
  const started = new Promise<void>((resolve) => (start = resolve));
  rt.launchHostFunc(stream, () => {
    start();
    return opened;
  });
  return { open, started };
}

/** Reads an i32 log written by the `append` kernel: [count, ...entries]. */
export async function readLog(rt: Runtime, log: number, capacity: number): Promise<number[]> {
  const out = new Int32Array(capacity);
  await rt.memcpy(out, log, capacity * 4);
  return Array.from(out.subarray(1, 1 + out[0]!));
}

/** Byte-wise equality of two views, reporting the first difference (vitest's deep equality is slow on large arrays). */
export function expectBytes(actual: ArrayBufferView, expected: ArrayBufferView): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  expect.fail(`bytes differ at offset ${i} (${a[i]} vs ${b[i]}; lengths ${a.length} and ${b.length})`);
}

/**
 * One runtime (with the fixture kernels loaded) for a whole test file: created in
 * beforeAll, closed in afterAll, handed to `bind`.
 */
export function useRuntime(options: RuntimeOptions, bind: (rt: Runtime, kernels: KernelModule) => void): void {
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await createRuntime(options);
    bind(rt, await rt.loadModule(kernelsUrl));
  });
  afterAll(async () => {
    await rt?.close();
  });
}

/**
 * One runtime for a test file of tensors: created in beforeAll, closed in afterAll together
 * with the CPU pool (the cpu backend's threads), handed to `bind`.
 */
export function useTensorRuntime(options: RuntimeOptions, bind?: (rt: Runtime) => void): void {
  let rt: Runtime | undefined;
  beforeAll(async () => {
    rt = await createRuntime(options);
    bind?.(rt);
  });
  afterAll(async () => {
    await rt?.close();
    await shutdownCpuPool();
  });
}

const entry = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));

/** Runs a script (with `Runtime`, and the package as `openregModule`, imported) in a fresh Node process with `env` added; it must end on its own, within 15 s. */
export function runScript(body: string, nodeFlags: readonly string[] = [], env: Readonly<Record<string, string>> = {}) {
  const script = `import { Runtime } from ${JSON.stringify(entry)};\nimport * as openregModule from ${JSON.stringify(entry)};\n${body}`;
  return spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
}
