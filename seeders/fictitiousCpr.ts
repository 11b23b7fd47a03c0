// Fictitious CPR numbers for generated donors: real calendar dates, and a 7th digit that gives the right century
// (so parseCpr accepts them). The demo citizens, the further demo donors and the bulk donors draw from disjoint
// 7th digits, so they can never collide:
//   demo citizens (demoPeople.ts): 1, 2, 4;  further demo donors: 0–2 (1900s), 5–8 (2000s);  bulk: 3 (1900s), 9 (2000s).
// (A further demo donor could still repeat a demo citizen with 7th digit 1 or 2; createFurtherDonorCpr checks that.)
import { parseCpr } from '../server/domain/cpr.ts'
import type { Rng } from './random.ts'

const DAY_MS = 86_400_000
const FAR_FUTURE = new Date(Date.UTC(2200, 0, 1))

const two = (n: number) => String(n).padStart(2, '0')

/** The 10 digits for a birth date (UTC midnight) and a serial 0000–9999; throws when the serial gives another century. */
export function cprFor(birthDate: Date, serial: number): string {
  const cpr = `${two(birthDate.getUTCDate())}${two(birthDate.getUTCMonth() + 1)}${two(birthDate.getUTCFullYear() % 100)}${String(serial).padStart(4, '0')}`
  const parsed = parseCpr(cpr, FAR_FUTURE)
  if (!parsed.ok || parsed.birthDate.getTime() !== birthDate.getTime()) throw new RangeError('serial does not fit the century of the birth date')
  return cpr
}

/** ISO date (YYYY-MM-DD) of a UTC midnight. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10)
}

/** A further demo donor: born between `from` and `to` (UTC dates), not in `taken`; the result is added to `taken`. */
export function createFurtherDonorCpr(rng: Rng, from: Date, to: Date, taken: Set<string>): { cpr: string; birthDate: Date } {
  const days = Math.round((to.getTime() - from.getTime()) / DAY_MS)
  for (;;) {
    const birthDate = new Date(from.getTime() + rng.int(0, days) * DAY_MS)
    const firstDigit = birthDate.getUTCFullYear() >= 2000 ? rng.int(5, 8) : rng.int(0, 2)
    const cpr = cprFor(birthDate, firstDigit * 1000 + rng.int(0, 999))
    if (!taken.has(cpr)) {
      taken.add(cpr)
      return { cpr, birthDate }
    }
  }
}

// Bulk donors: born 1926-01-01 … 2024-12-31. A donor's CPR is a bijection of its (globally unique) donor id, so two
// bulk runs can never produce the same CPR, with no lookup. An affine map modulo M scatters consecutive ids
// over birth dates; its multiplier is a prime that does not divide M, so the map is one-to-one.
const BULK_FIRST_BIRTH = Date.UTC(1926, 0, 1)
const BULK_BIRTH_DAYS = Math.round((Date.UTC(2025, 0, 1) - BULK_FIRST_BIRTH) / DAY_MS)
const BULK_SPACE = BULK_BIRTH_DAYS * 1000
const MULTIPLIER = 1_000_003
const OFFSET = 12_345_679

/** How many distinct bulk CPR numbers exist; donor ids must stay below it. */
export const BULK_CPR_SPACE = BULK_SPACE

export function bulkDonorCpr(donorId: number): { cpr: string; birthDate: Date } {
  if (!Number.isInteger(donorId) || donorId < 0 || donorId >= BULK_SPACE) throw new RangeError('donor id outside the bulk CPR space')
  const scrambled = ((MULTIPLIER % BULK_SPACE) * donorId + OFFSET) % BULK_SPACE
  const birthDate = new Date(BULK_FIRST_BIRTH + Math.floor(scrambled / 1000) * DAY_MS)
  const firstDigit = birthDate.getUTCFullYear() >= 2000 ? 9 : 3
  return { cpr: cprFor(birthDate, firstDigit * 1000 + (scrambled % 1000)), birthDate }
}

// Receipt references (VAR-YYYY-XXXXXX): the six characters are a bijection of a unique number (e.g. donor id × 4 +
// event number), over 32 characters without look-alikes (no 0/O, 1/I).
const RECEIPT_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ'
const RECEIPT_SPACE = 2 ** 30 // 32^6

export function receiptReference(year: number, unique: number): string {
  if (!Number.isInteger(unique) || unique < 0 || unique >= RECEIPT_SPACE) throw new RangeError('receipt number outside its space')
  // Odd multiplier modulo a power of two: a permutation.
  let n = Number((BigInt(unique) * 747_796_405n + 2_891_336_453n) % BigInt(RECEIPT_SPACE))
  let code = ''
  for (let i = 0; i < 6; i++) {
    code = (RECEIPT_ALPHABET[n % 32] as string) + code
    n = Math.floor(n / 32)
  }
  return `VAR-${year}-${code}`
}
