import { expect } from 'chai'
import { FirstOccurrences } from '../../server/services/firstOccurrences.ts'

/** What an eligibility check must copy: the position of each label's first occurrence, nothing else. */
function expectedFirsts(labels: readonly string[]): number[] {
  const seen = new Set<string>()
  const firsts: number[] = []
  labels.forEach((label, index) => {
    if (seen.has(label)) return
    seen.add(label)
    firsts.push(index + 1)
  })
  return firsts
}

/** The positions FirstOccurrences lets through: at once, or held back and found to be first afterwards. */
function foundFirsts(labels: readonly string[], log2Bits?: number): { firsts: number[]; held: number } {
  const firsts = new FirstOccurrences(log2Bits)
  const atOnce: number[] = []
  labels.forEach((label, index) => {
    if (firsts.add(label)) atOnce.push(index + 1)
  })
  const held = firsts.heldFirsts()
  for (const position of held) expect(firsts.label(position)).to.equal(labels[position - 1])
  return { firsts: [...atOnce, ...held].sort((a, b) => a - b), held: held.length }
}

/** A list of `length` labels drawn from `distinct` values, in a fixed pseudo-random order. */
function list(length: number, distinct: number, seed: number): string[] {
  let state = seed
  return Array.from({ length }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return `RH-2026-${String(state % distinct).padStart(6, '0')}`
  })
}

describe('the first occurrences of a long list of labels (eligibility check)', () => {
  it('lets through exactly the first occurrence of each label, in a list with many duplicates', () => {
    const labels = list(20_000, 5_000, 7)
    expect(foundFirsts(labels).firsts).to.deep.equal(expectedFirsts(labels))
  })

  it('decides held-back labels exactly when most labels collide in a tiny bit table', () => {
    // With 8, 64 or 1,024 bits most labels are held back, duplicates of held labels included.
    for (const log2Bits of [3, 6, 10]) {
      for (const [length, distinct, seed] of [
        [2_000, 2_000, 1],
        [2_000, 300, 2],
        [500, 20, 3],
      ] as const) {
        const labels = list(length, distinct, seed)
        const { firsts, held } = foundFirsts(labels, log2Bits)
        expect(firsts, `${length} labels of ${distinct}, 2^${log2Bits} bits`).to.deep.equal(expectedFirsts(labels))
        // More distinct labels than bits: some first occurrences must have been held back and let through later.
        if (distinct > 2 ** log2Bits) expect(held, `held-back first occurrences, 2^${log2Bits} bits`).to.be.greaterThan(0)
      }
    }
  })

  it('holds back nothing but the duplicates when no two labels share a bit', () => {
    const labels = ['A', 'B', 'A', 'C', 'B', 'A']
    const firsts = new FirstOccurrences()
    expect(labels.map((label) => firsts.add(label))).to.deep.equal([true, true, false, true, false, false])
    expect(firsts.heldFirsts()).to.deep.equal([])
  })

  it('treats labels that differ only in case or by a character outside ASCII as different', () => {
    const labels = ['rh-1', 'RH-1', 'RH-1', 'RH-æ', 'RH-ae', 'RH-æ']
    expect(foundFirsts(labels, 2).firsts).to.deep.equal([1, 2, 4, 5])
  })
})
