export type Backend = 'cpu' | 'wasm' | 'openreg';
export type Subject = 'openreg, 1 device' | 'openreg, 2 devices' | 'openreg cpu backend' | 'tfjs-backend-cpu' | 'tfjs-backend-wasm' | 'tfjs on openreg';

/** One workload: what it computes per subject (subjects it skips are absent) and its rate unit. */
export interface Workload {
  name: string;
  ops: number;
  rows: Partial<Record<Subject, () => Promise<void>>>;
}

