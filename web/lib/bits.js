// IEEE-754 bit patterns of doubles as 16 lowercase hex digits: the golden file's format, and how the page
// exposes each probability to its test. One module for the page and the Node checks.

const view = new DataView(new ArrayBuffer(8));

/** The bit pattern of `x`. */
export function bitsOf(x) {
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, "0");
}

/** The double whose bit pattern is `hex` (inverse of bitsOf). */
export function fromBits(hex) {
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}
