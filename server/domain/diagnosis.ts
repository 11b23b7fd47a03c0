// Diagnosis codes: accept WHO ICD-10 (C50.9, C509) or the Danish SKS form (DC509, DC50.9); store ICD-10 with a dot.
// SKS is "D" + the ICD-10 code, so an SKS code has a letter in position 2 and ICD-10 has a digit: never ambiguous
// (ICD-10 chapter D, e.g. D50.9, is DD509 in SKS).

export type DiagnosisError = 'empty' | 'format'

export type DiagnosisResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly error: DiagnosisError }

// Category (letter + 2 digits), then an optional subdivision: a digit, plus up to two more characters for
// WHO 5th characters and Danish SKS extensions (e.g. DZ768A).
const ICD10 = /^([A-Z]\d{2})(?:\.?(\d[0-9A-Z]{0,2}))?$/
const SKS = /^D([A-Z]\d{2})(?:\.?(\d[0-9A-Z]{0,2}))?$/

export function normaliseDiagnosis(input: string): DiagnosisResult {
  const code = input.trim().toUpperCase()
  if (code === '') return { ok: false, error: 'empty' }
  const match = ICD10.exec(code) ?? SKS.exec(code)
  if (!match) return { ok: false, error: 'format' }
  const [, category, subdivision] = match
  return { ok: true, value: subdivision ? `${category}.${subdivision}` : `${category}` }
}

/** SKS form (`DC509`) of any accepted ICD-10 or SKS input; throws on an invalid code. */
export function toSks(code: string): string {
  const result = normaliseDiagnosis(code)
  // Input left out of the message: a mistyped field could hold a CPR.
  if (!result.ok) throw new RangeError('Not an ICD-10 or SKS diagnosis code')
  return `D${result.value.replace('.', '')}`
}

const messages: Record<DiagnosisError, { da: string; en: string }> = {
  empty: { da: 'Angiv en diagnosekode.', en: 'Enter a diagnosis code.' },
  format: {
    da: 'Diagnosekoden skal være en ICD-10-kode (fx C50.9) eller en SKS-kode (fx DC509).',
    en: 'The diagnosis code must be an ICD-10 code (e.g. C50.9) or an SKS code (e.g. DC509).',
  },
}

export function diagnosisErrorMessage(error: DiagnosisError, lang: 'da' | 'en'): string {
  return messages[error][lang]
}
