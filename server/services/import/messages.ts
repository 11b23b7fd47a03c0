// The user's words for an import issue, in their language. Texts live in locales/*/staffImport.json; CPR, SPREC and
// diagnosis reasons come from their domain modules, so every screen explains them the same way.
import type { TFunction } from 'i18next'
import { cprErrorMessage, type CprError } from '../../domain/cpr.ts'
import { sprecErrorMessage, type SprecError } from '../../domain/sprec.ts'
import { diagnosisErrorMessage, type DiagnosisError } from '../../domain/diagnosis.ts'
import { AVAILABILITY_CODES, MATERIAL_TYPE_CODES, QUANTITY_UNIT_CODES, STORAGE_TEMPERATURE_CODES, type Lang } from '../../domain/vocabulary.ts'
import type { ImportIssue } from './format.ts'

const allowed: Record<string, readonly string[]> = {
  'material.unknown': MATERIAL_TYPE_CODES,
  'temperature.unknown': STORAGE_TEMPERATURE_CODES,
  'unit.unknown': QUANTITY_UNIT_CODES,
  'availability.unknown': AVAILABILITY_CODES,
}

export function issueMessage(issue: ImportIssue, t: TFunction, lang: Lang): string {
  const [area, reason] = issue.code.split('.', 2) as [string, string | undefined]
  if (area === 'cpr' && reason) return cprErrorMessage(reason as CprError, lang)
  if (area === 'sprec' && reason) return sprecErrorMessage(reason as SprecError, lang)
  if (area === 'diagnosis' && reason) return diagnosisErrorMessage(reason as DiagnosisError, lang)
  const key = `staffImport.issues.${issue.code}`
  const detail = issue.detail ?? ''
  return t(key, {
    detail,
    column: issue.column ?? '',
    allowed: (allowed[issue.code] ?? []).join(', '),
    defaultValue: t('staffImport.issues.unknown', { code: issue.code }),
  })
}
