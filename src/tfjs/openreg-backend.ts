import { type BackendTimingInfo, type BackendValues, DataStorage, type DataType, KernelBackend, type TensorInfo, backend_util, engine } from '@tensorflow/tfjs-core';
import { invalidValue } from '../errors/errors.js';
import { requireInteger } from '../errors/validate.js';
import { currentRuntime, deviceCount as countDevices } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { empty, tensor } from '../ops/factories.js';

/** The dtypes a tfjs tensor of openreg keeps in device memory; strings and complex numbers stay on the host. */
const DEVICE_DTYPES: Partial<Record<DataType, DType>> = { float32: 'float32', int32: 'int32', bool: 'bool' };

/** One tfjs data id: its openreg tensor, or host values (strings), or its parts (complex64). */
export interface OpenRegData {
  dtype: DataType;
  shape: number[];
  refCount: number;
  /** The elements in device memory (float32, int32, bool). */
  tensor?: Tensor;
  /** The values of a string tensor (encoded bytes) or of a complex64 one written whole. */
  values?: BackendValues;
  /** A complex64 tensor as its real and imaginary float32 parts (tfjs's `complex` kernel). */
  complexTensorInfos?: { real: TensorInfo; imag: TensorInfo };
}

/**
 * TensorFlow.js's KernelBackend on openreg: every float32, int32 and bool tensor is an openreg
 * tensor in device memory — of one pinned device, or of the device current when it was written —
 * so its kernels run as stream-ordered device work and the caching allocator, hooks, the
 * profiler and the sanitizer see them. Reads go through openreg's reads: `readSync` waits on
 * the stream, `read` does not block.
 */
export class OpenRegBackend extends KernelBackend {
  readonly data: DataStorage<OpenRegData>;
  /** The device this backend keeps its tensors on; undefined: the current device at each write. */
  readonly device: number | undefined;
  #nextId = 0;

  constructor(device?: number) {
    super();
    this.device = device === undefined ? undefined : requireInteger('OpenRegBackend', 'device', device, 0, countDevices() - 1);
    this.data = new DataStorage(this, engine());
  }

  /** The openreg device string a new tensor goes to. */
  deviceName(): string {
    return `openreg:${this.device ?? currentRuntime('tfjs').getDevice()}`;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): object {
    const dataId = { id: this.#nextId++ };
    this.data.set(dataId, this.#entry(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: object, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, this.#entry(values, shape, dtype, refCount));
  }

  #entry(values: BackendValues, shape: number[], dtype: DataType, refCount: number): OpenRegData {
    const device = DEVICE_DTYPES[dtype];
    if (device === undefined) return { dtype, shape, refCount, values };
    if (values == null) return { dtype, shape, refCount, tensor: empty(shape, { dtype: device, device: this.deviceName() }) };
    const flat = tensor(values as Float32Array | Int32Array | Uint8Array, { dtype: device, device: this.deviceName() });
    // The view of tfjs's shape holds the memory; the flat handle goes at once (not at a garbage collection).
    const t = flat.reshape(...shape);
    flat.dispose();
    return { dtype, shape, refCount, tensor: t };
  }

  /** A new data id holding `t` (an openreg tensor of this backend's device), for kernels. */
  makeOutput(t: Tensor, shape: readonly number[], dtype: DataType): TensorInfo {
    const dataId = { id: this.#nextId++ };
    this.data.set(dataId, { dtype, shape: [...shape], refCount: 1, tensor: t });
    return { dataId, shape: [...shape], dtype };
  }

  /** A kernel's tensor of output `info` as an openreg tensor (host-held dtypes refused). */
  tensorOf(info: TensorInfo): Tensor {
    const entry = this.data.get(info.dataId);
    if (entry.tensor === undefined) throw invalidValue('tfjs', `a ${entry.dtype} tensor has no openreg device tensor`);
    return entry.tensor;
  }

  makeTensorInfo(shape: number[], dtype: DataType, values?: BackendValues | string[]): TensorInfo {
    return { dataId: this.write(values as BackendValues, shape, dtype), shape, dtype };
  }

  override refCount(dataId: object): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: object): void {
    this.data.get(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override readSync(dataId: object): BackendValues {
    const entry = this.data.get(dataId);
    if (entry.complexTensorInfos !== undefined) return backend_util.mergeRealAndImagArrays(this.readSync(entry.complexTensorInfos.real.dataId) as Float32Array, this.readSync(entry.complexTensorInfos.imag.dataId) as Float32Array);
    if (entry.tensor === undefined) return entry.values!;
    return entry.tensor.dataSync() as BackendValues;
  }

  override async read(dataId: object): Promise<BackendValues> {
    const entry = this.data.get(dataId);
    if (entry.complexTensorInfos !== undefined) {
      const [re, im] = await Promise.all([this.read(entry.complexTensorInfos.real.dataId), this.read(entry.complexTensorInfos.imag.dataId)]);
      return backend_util.mergeRealAndImagArrays(re as Float32Array, im as Float32Array);
    }
    if (entry.tensor === undefined) return entry.values!;
    return (await entry.tensor.data()) as BackendValues;
  }

  override disposeData(dataId: object, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    if (entry.complexTensorInfos !== undefined) {
      this.disposeData(entry.complexTensorInfos.real.dataId, true);
      this.disposeData(entry.complexTensorInfos.imag.dataId, true);
    }
    entry.tensor?.dispose();
    this.data.delete(dataId);
    return true;
  }

  /** Disposes a kernel's intermediate (tfjs's disposeIntermediateTensorInfo). */
  disposeIntermediateTensorInfo(info: TensorInfo): void {
    this.disposeData(info.dataId);
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    // Device time: the work f enqueued, between two timing events on the current stream.
    const rt = currentRuntime('tfjs.time');
    const device = this.device ?? rt.getDevice();
    const [before, after] = rt.withDevice(device, () => [rt.eventCreate(), rt.eventCreate()] as const);
    try {
      rt.withDevice(device, () => rt.eventRecord(before));
      f();
      rt.withDevice(device, () => rt.eventRecord(after));
      await rt.eventSynchronize(after);
      return { kernelMs: rt.eventElapsedTime(before, after) };
    } finally {
      rt.eventDestroy(before);
      rt.eventDestroy(after);
    }
  }

  override timerAvailable(): boolean {
    return true;
  }

  override memory(): { unreliable: boolean; reasons?: string[] } {
    return { unreliable: false };
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // The engine disposes its tensors' data first; what is left belongs to nobody.
  }
}
