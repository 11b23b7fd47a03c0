/**
 * The first occurrence of each label of a long list, found without a hash set of every label.
 *
 * An eligibility check copies each label once, at its first position. A `Set` of a million labels cost 0.75 s of the
 * 1.3 s Node spent on such a list, on the check's critical path. Here one bit per hash value (FNV-1a, 2^24 bits =
 * 2 MB) says whether a label may have been seen:
 * - bit clear: certainly the label's first occurrence, copied at once (about 97 % of a million distinct labels);
 * - bit set: held back, and decided exactly by `heldFirsts` once the whole list is in, against the labels before it
 *   that have the same bit.
 * The labels and their bits are kept in order for that (the `Set` held every label too).
 */
export class FirstOccurrences {
  private readonly bits: Uint32Array
  private readonly mask: number
  private readonly labels: string[] = []
  /** The bit of each label taken, by position - 1. */
  private readonly labelBits: number[] = []
  private readonly held: number[] = []

  /** `log2Bits` below the default only for tests, to make collisions common. */
  constructor(log2Bits = 24) {
    this.bits = new Uint32Array(Math.max(1, 2 ** log2Bits / 32))
    this.mask = 2 ** log2Bits - 1
  }

  /** Takes the next label of the list; true when this is certainly its first occurrence. */
  add(label: string): boolean {
    const bit = fnv1a(label) & this.mask
    this.labels.push(label)
    this.labelBits.push(bit)
    const word = bit >>> 5
    const flag = 1 << (bit & 31)
    if ((this.bits[word]! & flag) !== 0) {
      this.held.push(this.labels.length)
      return false
    }
    this.bits[word]! |= flag
    return true
  }

  /** The held-back positions (1-based, ascending) that are their label's first occurrence after all. */
  heldFirsts(): number[] {
    if (this.held.length === 0) return []
    // Each held label's first position: where the list shows it first (0 until then). Only a label with the bit of
    // a held label can be one: the others are passed over without hashing the string for the Map.
    const first = new Map<string, number>()
    const heldBits = new Uint32Array(this.bits.length)
    for (const position of this.held) {
      first.set(this.labels[position - 1]!, 0)
      const bit = this.labelBits[position - 1]!
      heldBits[bit >>> 5]! |= 1 << (bit & 31)
    }
    const last = this.held[this.held.length - 1]!
    for (let position = 1; position <= last; position++) {
      const bit = this.labelBits[position - 1]!
      if ((heldBits[bit >>> 5]! & (1 << (bit & 31))) === 0) continue
      const label = this.labels[position - 1]!
      if (first.get(label) === 0) first.set(label, position)
    }
    return this.held.filter((position) => first.get(this.labels[position - 1]!) === position)
  }

  /** The label at a (1-based) position taken so far. */
  label(position: number): string {
    return this.labels[position - 1]!
  }
}

/** 32-bit FNV-1a over the UTF-16 code units: cheap, and spreads labels that differ in one digit. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}
