import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CmdF64,
  CmdI32,
  CommandReader,
  CommandWriter,
  HOST_POOL_SPACE,
  type KernelArg,
  MAX_KERNEL_ARGS,
  Op,
  commandSlots,
  isEncodableBigInt,
  kernelSlots,
} from '../../src/protocol/command.js';
import { DEVICE_CONTROL_BYTES, MAX_STREAMS, RING_SLOTS, SLOT_BYTES, ringI32Base, streamWordIndex } from '../../src/protocol/layout.js';

const CANARY = 0x5a5a5a5a;

const buffer = new SharedArrayBuffer(DEVICE_CONTROL_BYTES);
const control = new Int32Array(buffer);
/** Int32 range of stream records `stream - 1` to `stream + 1`: where a stray write would land. */
const neighbourhood = (stream: number): [number, number] => [
  streamWordIndex(Math.max(0, stream - 1), 0),
  stream + 2 < MAX_STREAMS ? streamWordIndex(stream + 2, 0) : control.length,
];

/** A writer and a reader on one stream's ring, its neighbourhood filled with the canary. */
function ring(stream = 3): { writer: CommandWriter; reader: CommandReader; i32: Int32Array } {
  control.fill(CANARY, ...neighbourhood(stream));
  return { writer: new CommandWriter(buffer, stream), reader: new CommandReader(buffer, stream), i32: control };
}

/** Int32 indices the command at `slot` may write: its slots, wrapping to the ring's start. */
function ownWords(stream: number, slot: number, slots: number): Set<number> {
  const own = new Set<number>();
  for (let k = 0; k < slots; k++) {
    const base = ringI32Base(stream) + (((slot + k) % RING_SLOTS) * SLOT_BYTES) / 4;
    for (let w = 0; w < SLOT_BYTES / 4; w++) own.add(base + w);
  }
  return own;
}

const kernelArg = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.constantFrom(-0, Number.NaN, Infinity, -Infinity, 0.5),
);

describe('the command codec', () => {
  it('reads back every field of every opcode as written, with the correlation id', () => {
    const { writer, reader } = ring();
    writer.correlation = 77;
    writer.writeCopy(5, HOST_POOL_SPACE, 1024, 1, 2 ** 40 + 8, 4096);
    expect([reader.op(5), reader.slots(5), reader.correlation(5)]).toEqual([Op.COPY, 1, 77]);
    expect([reader.word(5, CmdI32.SRC_SPACE), reader.word(5, CmdI32.DST_SPACE)]).toEqual([HOST_POOL_SPACE, 1]);
    expect([reader.number(5, CmdF64.SRC_OFFSET), reader.number(5, CmdF64.DST_OFFSET), reader.number(5, CmdF64.BYTES)]).toEqual([1024, 2 ** 40 + 8, 4096]);
    writer.correlation = 0;
    writer.writeMemset(6, 1, 256, 0xab, 100);
    expect([reader.op(6), reader.correlation(6), reader.word(6, CmdI32.VALUE), reader.word(6, CmdI32.MEMSET_SPACE)]).toEqual([Op.MEMSET, 0, 0xab, 1]);
    expect([reader.number(6, CmdF64.OFFSET), reader.number(6, CmdF64.COUNT)]).toEqual([256, 100]);
    writer.writeRecordEvent(7, 65535, -3, true);
    expect([reader.op(7), reader.word(7, CmdI32.EVENT_SLOT), reader.word(7, CmdI32.EVENT_EPOCH), reader.word(7, CmdI32.EVENT_TIMING)]).toEqual([Op.RECORD_EVENT, 65535, -3, 1]);
    writer.writeWait(8, 1, 200, 2 ** 31 - 1);
    expect([reader.op(8), reader.word(8, CmdI32.WAIT_DEVICE), reader.word(8, CmdI32.WAIT_STREAM), reader.word(8, CmdI32.WAIT_SEQ)]).toEqual([Op.WAIT_STREAM, 1, 200, 2 ** 31 - 1]);
    writer.writeNop(9);
    writer.writeHostFunction(10);
    expect([reader.op(9), reader.slots(9), reader.op(10), reader.slots(10)]).toEqual([Op.NOP, 1, Op.HOST_FUNC, 1]);
  });

  it('round-trips kernel arguments of every type, spanning slots and wrapping around the ring', () => {
    fc.assert(
      fc.property(
        fc.array(kernelArg, { maxLength: MAX_KERNEL_ARGS }),
        fc.integer({ min: 0, max: RING_SLOTS - 1 }),
        fc.integer({ min: 0, max: MAX_STREAMS - 1 }),
        fc.integer({ min: 0, max: 2 ** 20 }),
        (args: KernelArg[], slot, stream, kernelId) => {
          const { writer, reader, i32 } = ring(stream);
          writer.writeKernel(slot, kernelId, args, 7);
          expect(reader.op(slot)).toBe(Op.KERNEL);
          expect(reader.slots(slot)).toBe(kernelSlots(args.length));
          expect(reader.argc(slot)).toBe(args.length);
          expect(reader.word(slot, CmdI32.KERNEL_ID)).toBe(kernelId);
          expect(reader.word(slot, CmdI32.FREE_EPOCH)).toBe(7);
          args.forEach((arg, k) => expect(Object.is(reader.arg(slot, k), arg)).toBe(true));
          // Nothing outside the command's own slots was touched.
          const own = ownWords(stream, slot, kernelSlots(args.length));
          const [from, to] = neighbourhood(stream);
          for (let w = from; w < to; w++) if (!own.has(w) && i32[w] !== CANARY) throw new Error(`word ${w} outside the command changed`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sizes commands: a kernel takes the slots its arguments need, at most 9', () => {
    expect([kernelSlots(0), kernelSlots(3), kernelSlots(4), kernelSlots(MAX_KERNEL_ARGS)]).toEqual([1, 1, 2, 9]);
    expect(commandSlots(Op.COPY | (1 << 8))).toBe(1);
    expect(commandSlots(Op.KERNEL | (9 << 8))).toBe(9);
  });

  it('encodes bigints that fit a signed or an unsigned 64-bit word, and no others', () => {
    expect([-(2n ** 63n), 0n, 2n ** 63n, 2n ** 64n - 1n].every(isEncodableBigInt)).toBe(true);
    expect([-(2n ** 63n) - 1n, 2n ** 64n].some(isEncodableBigInt)).toBe(false);
  });
});
