import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { OpenRegBackend } from './openreg-backend.js';

/** The host backend the fallback runs tfjs-backend-cpu's kernels on: private, so a user's `cpu` backend is untouched. */
let host: MathBackendCPU | undefined;
function hostBackend(): MathBackendCPU {
  if (host === undefined) {
    host = new MathBackendCPU();
    // Its first write would advise installing tfjs-node: advice for tfjs users, not for openreg's fallback.
    (host as unknown as { firstUse: boolean }).firstUse = false;
  }
  return host;
}

type HostData = { values?: unknown; complexTensorInfos?: { real: TensorInfo; imag: TensorInfo } };
const hostData = (cpu: MathBackendCPU, info: TensorInfo): HostData => (cpu.data as unknown as { get(id: object): HostData }).get(info.dataId);

/** An openreg tensor's values written into the host backend (complex numbers part by part). */
function toHost(cpu: MathBackendCPU, device: OpenRegBackend, info: TensorInfo): TensorInfo {
  const entry = device.data.get(info.dataId);
  if (entry.complexTensorInfos !== undefined) {
    const real = toHost(cpu, device, entry.complexTensorInfos.real);
    const imag = toHost(cpu, device, entry.complexTensorInfos.imag);
    const out = cpu.makeTensorInfo(info.shape, 'complex64');
    hostData(cpu, out).complexTensorInfos = { real, imag };
    return out;
  }
  // rank too: a gradient passes Tensors, and some kernels read it (Dilation2DBackpropInput).
  const rank = info.shape.length;
  return { dataId: cpu.write(device.readSync(info.dataId), info.shape, info.dtype), shape: info.shape, dtype: info.dtype, rank } as TensorInfo;
}

/** A host backend result written to the device (complex numbers part by part). */
function toDevice(cpu: MathBackendCPU, device: OpenRegBackend, info: TensorInfo): TensorInfo {
  const parts = hostData(cpu, info).complexTensorInfos;
  if (parts !== undefined) {
    const out = device.makeTensorInfo(info.shape, 'complex64');
    device.data.get(out.dataId).complexTensorInfos = { real: toDevice(cpu, device, parts.real), imag: toDevice(cpu, device, parts.imag) };
    return out;
  }
  return device.makeTensorInfo(info.shape, info.dtype, cpu.readSync(info.dataId));
}

/**
 * OpenReg's CPU fallback for a tfjs kernel: the inputs are read from the device (in stream
 * order, waiting for the work that makes them), `@tensorflow/tfjs-backend-cpu`'s kernel runs on
 * the host, and its outputs are written back to the device.
 */
export function cpuFallback(config: KernelConfig): KernelFunc {
  const kernel = config.kernelFunc;
  return ({ inputs, backend, attrs }) => {
    const device = backend as OpenRegBackend;
    const cpu = hostBackend();
    const written: TensorInfo[] = [];
    const write = (info: TensorInfo): TensorInfo => {
      const h = toHost(cpu, device, info);
      written.push(h);
      return h;
    };
    // The inputs are named tensors or lists of them (RaggedGather's splits), or one list (Concat's, AddN's, Pack's).
    const each = (value: TensorInfo | TensorInfo[]): TensorInfo | TensorInfo[] => (Array.isArray(value) ? value.map(write) : write(value));
    let hostInputs: Record<string, TensorInfo | TensorInfo[]> | TensorInfo[];
    if (Array.isArray(inputs)) hostInputs = (inputs as TensorInfo[]).map(write);
    else {
      hostInputs = {};
      for (const [name, value] of Object.entries(inputs as Record<string, TensorInfo | TensorInfo[] | undefined>)) if (value != null) hostInputs[name] = each(value);
    }
    try {
      const result = kernel({ inputs: hostInputs as unknown as NamedTensorInfoMap, backend: cpu, attrs: attrs as NamedAttrMap });
      const outputs = Array.isArray(result) ? result : [result];
      const moved = outputs.map((o) => toDevice(cpu, device, o));
      for (const o of outputs) cpu.disposeData(o.dataId);
      return Array.isArray(result) ? moved : moved[0]!;
    } finally {
      for (const info of written) cpu.disposeData(info.dataId);
    }
  };
}
