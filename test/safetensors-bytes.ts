/** An independent writer for the tests: safetensors bytes from a header object and a data section (padded to 8 bytes unless `pad` is false). */
export function writeSafetensors(header: Record<string, unknown>, data: Uint8Array, pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) while (json.length % 8 !== 0) json += ' ';
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
