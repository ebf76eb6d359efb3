import { invalidValue } from '../errors/errors.js';
import { requireFinite, requireInteger, requireOptions } from '../errors/validate.js';
import { Optimizer } from './optimizer.js';

/**
 * PyTorch's lr_scheduler: each `step()` (once per epoch) sets every group's `lr` from its
 * initial value and the epoch count. Constructing one applies epoch 0, as PyTorch does.
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  readonly baseLrs: readonly number[];
  lastEpoch = 0;
  #lastLr: number[];

  protected constructor(call: string, optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw invalidValue(call, 'optimizer must be an Optimizer', optimizer);
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => g.options['lr'] as number);
    this.#lastLr = [...this.baseLrs];
  }

  /** The learning rate of a group with initial rate `base` at `epoch`. */
  protected abstract lrAt(base: number, epoch: number): number;

  /** Advances one epoch and sets the groups' learning rates. */
  step(): void {
    this.lastEpoch++;
    this.#apply();
  }

  protected start(): void {
    this.#apply();
  }

  #apply(): void {
    this.#lastLr = this.optimizer.paramGroups.map((g, i) => (g.options['lr'] = this.lrAt(this.baseLrs[i]!, this.lastEpoch)));
  }

  /** The rates the last step set, per group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  stateDict(): { lastEpoch: number; baseLrs: number[] } {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(state: { lastEpoch: number }): void {
    if (typeof state !== 'object' || state === null) throw invalidValue('loadStateDict', 'expected the object stateDict() returned', state);
    this.lastEpoch = requireInteger('loadStateDict', 'lastEpoch', state.lastEpoch, 0);
    this.#apply();
  }
}

/** Multiplies the rate by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super('StepLR', optimizer);
    const o = requireOptions<{ stepSize: number; gamma: number }>('StepLR', options, 'options', ['stepSize', 'gamma']);
    this.stepSize = requireInteger('StepLR', 'options.stepSize', o.stepSize, 1);
    this.gamma = o.gamma === undefined ? 0.1 : requireFinite('StepLR', 'options.gamma', o.gamma, 0);
    this.start();
  }

  protected lrAt(base: number, epoch: number): number {
    return base * this.gamma ** Math.floor(epoch / this.stepSize);
  }
}

/** Cosine from the initial rate down to etaMin over tMax epochs (the closed form of PyTorch's CosineAnnealingLR). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    const o = requireOptions<{ tMax: number; etaMin: number }>('CosineAnnealingLR', options, 'options', ['tMax', 'etaMin']);
    this.tMax = requireInteger('CosineAnnealingLR', 'options.tMax', o.tMax, 1);
    this.etaMin = o.etaMin === undefined ? 0 : requireFinite('CosineAnnealingLR', 'options.etaMin', o.etaMin, 0);
    this.start();
  }

  protected lrAt(base: number, epoch: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2;
  }
}
