// What staff can filter samples by, shared by the search page and the exports of a search result.
// The donor's CPR number is deliberately not here: a CPR search is a POST and is resolved to a donor id
// by the search service (and audited) before it becomes a criterion.
import { z } from 'zod'
import { AVAILABILITY_CODES, BIOBANK_CODES, MATERIAL_TYPE_CODES } from './vocabulary.ts'

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : typeof value === 'string' ? value.trim() : value), schema.optional())

/** A real calendar date: Date.parse would roll 2024-02-31 over into March, and PostgreSQL has no year 0. */
function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString().slice(0, 10) === value
}

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine(isCalendarDate)

/** The message of the issue raised when collectedTo lies before collectedFrom (on the path collectedTo). */
export const DATE_ORDER_ISSUE = 'collectedTo before collectedFrom'

export const sampleCriteriaSchema = z
  .object({
    label: optional(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/)),
    materialType: optional(z.enum(MATERIAL_TYPE_CODES)),
    collectedFrom: optional(isoDate),
    collectedTo: optional(isoDate),
    biobank: optional(z.enum(BIOBANK_CODES)),
    availability: optional(z.enum(AVAILABILITY_CODES)),
  })
  .refine((c) => c.collectedFrom === undefined || c.collectedTo === undefined || c.collectedFrom <= c.collectedTo, {
    path: ['collectedTo'],
    message: DATE_ORDER_ISSUE,
  })

export type SampleCriteria = z.infer<typeof sampleCriteriaSchema> & {
  /** Set by the search service after an audited CPR lookup; never read from a request. */
  donorId?: number
}
