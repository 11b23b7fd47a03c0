// CPR numbers: parsing, century rule, display and log redaction.
// The modulus-11 check is deliberately absent: CPR numbers without it have been issued since 2007.

export type CprError = 'empty' | 'format' | 'date' | 'future'

export type CprResult =
  | { readonly ok: true; readonly cpr: string; readonly birthDate: Date }
  | { readonly ok: false; readonly error: CprError }

const CPR_SHAPE = /^(\d{6})-?(\d{4})$/

/** Year of birth from YY and the 7th digit (the first digit of the serial part). */
export function birthYear(yy: number, seventhDigit: number): number {
  if (seventhDigit <= 3) return 1900 + yy
  if (seventhDigit === 4 || seventhDigit === 9) return yy <= 36 ? 2000 + yy : 1900 + yy
  return yy <= 57 ? 2000 + yy : 1800 + yy
}

/** Birth date (UTC midnight) of 10 CPR digits, or undefined when DDMMYY is not a real calendar date. */
function birthDateOf(digits: string): Date | undefined {
  const day = Number(digits.slice(0, 2))
  const month = Number(digits.slice(2, 4))
  const year = birthYear(Number(digits.slice(4, 6)), Number(digits[6]))
  const date = new Date(Date.UTC(year, month - 1, day))
  // Date.UTC rolls 31 Feb over into March; a round trip catches it.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined
  return date
}

/** The 10 digits of a CPR in either written form, or undefined if the shape is wrong. No date check. */
export function normaliseCpr(input: string): string | undefined {
  const match = CPR_SHAPE.exec(input.trim())
  return match ? `${match[1]}${match[2]}` : undefined
}

export function parseCpr(input: string, now: Date = new Date()): CprResult {
  const trimmed = input.trim()
  if (trimmed === '') return { ok: false, error: 'empty' }
  const cpr = normaliseCpr(trimmed)
  if (cpr === undefined) return { ok: false, error: 'format' }
  const birthDate = birthDateOf(cpr)
  if (birthDate === undefined) return { ok: false, error: 'date' }
  if (birthDate.getTime() > now.getTime()) return { ok: false, error: 'future' }
  return { ok: true, cpr, birthDate }
}

const messages: Record<CprError, { da: string; en: string }> = {
  empty: { da: 'Indtast et CPR-nummer.', en: 'Enter a CPR number.' },
  format: {
    da: 'CPR-nummeret skal bestå af 10 cifre, fx DDMMÅÅ-XXXX.',
    en: 'The CPR number must be 10 digits, for example DDMMYY-XXXX.',
  },
  date: {
    da: 'De første 6 cifre i CPR-nummeret er ikke en gyldig dato.',
    en: 'The first 6 digits of the CPR number are not a valid date.',
  },
  future: {
    da: 'CPR-nummeret angiver en fødselsdato i fremtiden.',
    en: 'The CPR number gives a date of birth in the future.',
  },
}

/** User-facing text; never echoes the number, which must not reach pages or logs. */
export function cprErrorMessage(error: CprError, lang: 'da' | 'en'): string {
  return messages[error][lang]
}

function digitsOrThrow(cpr: string): string {
  const digits = normaliseCpr(cpr)
  // The message leaves the input out on purpose: it may be a CPR.
  if (digits === undefined) throw new Error('Expected a 10-digit CPR number')
  return digits
}

/** `150372-****`: enough for a citizen to recognise, useless to anyone else. */
export function maskCpr(cpr: string): string {
  return `${digitsOrThrow(cpr).slice(0, 6)}-****`
}

/** `150372-4518`, for authorised staff only. */
export function formatCpr(cpr: string): string {
  const digits = digitsOrThrow(cpr)
  return `${digits.slice(0, 6)}-${digits.slice(6)}`
}

/**
 * Full years on `now`, from UTC calendar fields (birth dates are UTC midnight).
 * Someone born 29 February turns a year older on 1 March in non-leap years.
 */
export function ageOn(birthDate: Date, now: Date = new Date()): number {
  let age = now.getUTCFullYear() - birthDate.getUTCFullYear()
  const monthDiff = now.getUTCMonth() - birthDate.getUTCMonth()
  if (monthDiff < 0 || (monthDiff === 0 && now.getUTCDate() < birthDate.getUTCDate())) age -= 1
  return age
}

/** Under 15 a parent acts for the child (Sundhedsloven); from the 15th birthday the child does. */
export function isUnder15(birthDate: Date, now: Date = new Date()): boolean {
  return ageOn(birthDate, now) < 15
}

// Six digits, optional dash, four digits, not inside a longer digit run.
const CPR_IN_TEXT = /(?<!\d)(\d{6})-?(\d{4})(?!\d)/g

/**
 * Replaces anything that looks like a CPR with `[CPR]`. Errs towards redacting:
 * any 10-digit run whose DDMMYY is a real date counts, whether or not it is an issued number.
 */
export function redactCprs(text: string): string {
  return text.replace(CPR_IN_TEXT, (match, head: string, tail: string) =>
    birthDateOf(head + tail) === undefined ? match : '[CPR]',
  )
}
