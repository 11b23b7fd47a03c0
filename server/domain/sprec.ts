// SPREC (ISBER Standard PREanalytical Code, v3, fluid samples): validate the shape and the sample type only;
// the meaning of elements 2–7 depends on the sample type and is left to the biobank.

export type SprecError = 'empty' | 'format' | 'sample_type'

export type SprecResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly error: SprecError }

/** SPREC v3 fluid sample-type codes (element 1). */
export const SPREC_FLUID_SAMPLE_TYPES: readonly string[] = Object.freeze([
  'ASC', 'AMN', 'BAL', 'BLD', 'BMA', 'BRK', 'BUF', 'CEL', 'CLN', 'CRD', 'CSF', 'DWB', 'NAS', 'PEL', 'PEN', 'PFL',
  'PL1', 'PL2', 'PLC', 'RBC', 'SAL', 'SEM', 'SER', 'SPT', 'SYN', 'TER', 'U24', 'URN', 'URM', 'URT', 'XXX', 'ZZZ',
])

const SPREC_SHAPE = /^([A-Z0-9]{3})-[A-Z0-9]{3}-[A-Z]-[A-Z]-[A-Z]-[A-Z]-[A-Z]$/

export function validateSprec(input: string): SprecResult {
  const value = input.trim().toUpperCase()
  if (value === '') return { ok: false, error: 'empty' }
  const match = SPREC_SHAPE.exec(value)
  if (!match) return { ok: false, error: 'format' }
  if (!SPREC_FLUID_SAMPLE_TYPES.includes(match[1] ?? '')) return { ok: false, error: 'sample_type' }
  return { ok: true, value }
}

const messages: Record<SprecError, { da: string; en: string }> = {
  empty: { da: 'Angiv en SPREC-kode.', en: 'Enter a SPREC code.' },
  format: {
    da: 'SPREC-koden skal have 7 dele adskilt af bindestreg, fx SER-SST-A-D-N-A-D.',
    en: 'The SPREC code must have 7 parts separated by hyphens, for example SER-SST-A-D-N-A-D.',
  },
  sample_type: {
    da: 'Prøvetypen (første del af SPREC-koden, fx SER eller BLD) er ikke en kendt SPREC-væsketype.',
    en: 'The sample type (first part of the SPREC code, e.g. SER or BLD) is not a known SPREC fluid type.',
  },
}

export function sprecErrorMessage(error: SprecError, lang: 'da' | 'en'): string {
  return messages[error][lang]
}
