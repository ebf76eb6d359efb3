/**
 * The OpenReg example, grown up: a vector add on every device, two streams each.
 * Stream A uploads `a`, stream B uploads `b`; each stream waits for the other's upload
 * (cross-stream event waits), adds its half, and downloads it into pinned memory.
 * Events time each device's work; the results are verified on the host; the profiler
 * records the run as a Chrome trace.
 */
import { resolve } from 'node:path';
import { Runtime } from '../../src/index.js';

const N = 1 << 22; // 4M floats (16 MiB) per vector, per device
const HALF = N / 2;

const rt = await Runtime.create();
try {
  const mod = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  const vectorAdd = mod.getFunction('vectorAdd');
  const count = rt.getDeviceCount();
  console.log(`openreg demo: vector add of ${N} floats on ${count} devices, 2 streams each\n`);
  rt.profiler.start();

  const reports = await Promise.all(
    Array.from({ length: count }, (_, device) =>
      rt.withDevice(device, async () => {
        // Host inputs in pinned memory, so that uploads and downloads are fully asynchronous.
        const pinnedA = rt.mallocHost(N * 4);
        const pinnedB = rt.mallocHost(N * 4);
        const pinnedOut = rt.mallocHost(N * 4);
        const a = new Float32Array(pinnedA.buffer, pinnedA.byteOffset, N);
        const b = new Float32Array(pinnedB.buffer, pinnedB.byteOffset, N);
        for (let i = 0; i < N; i++) {
          a[i] = i * 0.5 + device;
          b[i] = N - i;
        }
        const dA = rt.malloc(N * 4);
        const dB = rt.malloc(N * 4);
        const dOut = rt.malloc(N * 4);
        const [s0, s1] = [rt.streamCreate(), rt.streamCreate({ priority: -1 })] as const;
        const [start, uploadedA, uploadedB, doneB, end] = [rt.eventCreate(), rt.eventCreate(), rt.eventCreate(), rt.eventCreate(), rt.eventCreate()];

        rt.eventRecord(start, s0);
        rt.streamWaitEvent(s1, start);
        rt.memcpyAsync(dA, pinnedA, N * 4, 'hostToDevice', s0);
        rt.eventRecord(uploadedA, s0);
        rt.memcpyAsync(dB, pinnedB, N * 4, 'hostToDevice', s1);
        rt.eventRecord(uploadedB, s1);
        // Each half needs both inputs: wait for the other stream's upload.
        rt.streamWaitEvent(s0, uploadedB);
        rt.streamWaitEvent(s1, uploadedA);
        rt.launchKernel(vectorAdd, [dA, dB, dOut, 0, HALF], s0);
        rt.launchKernel(vectorAdd, [dA, dB, dOut, HALF, HALF], s1);
        rt.memcpyAsync(pinnedOut, dOut, HALF * 4, 'deviceToHost', s0);
        rt.memcpyAsync(pinnedOut.subarray(HALF * 4), dOut + HALF * 4, HALF * 4, 'deviceToHost', s1);
        rt.eventRecord(doneB, s1);
        rt.streamWaitEvent(s0, doneB);
        rt.eventRecord(end, s0);
        await rt.eventSynchronize(end);

        const out = new Float32Array(pinnedOut.buffer, pinnedOut.byteOffset, N);
        let wrong = 0;
        for (let i = 0; i < N; i++) if (out[i] !== a[i]! + b[i]!) wrong++;
        const elapsedMs = rt.eventElapsedTime(start, end);
        const stats = await rt.deviceStats(device);
        for (const p of [dA, dB, dOut]) rt.free(p);
        for (const h of [pinnedA, pinnedB, pinnedOut]) rt.freeHost(h);
        rt.streamDestroy(s0);
        rt.streamDestroy(s1);
        return { device, wrong, elapsedMs, stats };
      }),
    ),
  );

  rt.profiler.stop();
  const tracePath = resolve('trace-vector-add.json');
  await rt.profiler.exportChromeTrace(tracePath);

  let failures = 0;
  for (const { device, wrong, elapsedMs, stats } of reports) {
    failures += wrong;
    console.log(
      `device ${device}: ${wrong === 0 ? 'verified' : `${wrong} WRONG elements`} | ` +
        `kernels ${stats.kernels} | copies ${stats.copies} (${(stats.bytesCopied / 2 ** 20).toFixed(1)} MiB) | ` +
        `elapsed ${elapsedMs.toFixed(2)} ms (${((3 * N * 4) / 2 ** 30 / (elapsedMs / 1000)).toFixed(2)} GiB/s moved)`,
    );
  }
  if (failures > 0) {
    console.error(`\n${failures} elements were wrong`);
    process.exitCode = 1;
  } else {
    console.log('\nall results verified');
  }
  console.log(`trace written to ${tracePath} (open it in Perfetto or chrome://tracing)`);
} finally {
  await rt.close();
}
