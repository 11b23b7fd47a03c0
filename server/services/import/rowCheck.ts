// The checks of one row on its own (shape, vocabulary, formats), made while the file streams by, so the staging
// table receives typed, normalised values and the row's problems. PostgreSQL's regular expressions cost
// microseconds each; a million rows times a dozen patterns was most of an import. What needs other rows or the
// database (duplicates, parents, positions, registered samples, the clock) stays in SQL (rules.ts).
import { validateSprec } from '../../domain/sprec.ts'
import { normaliseDiagnosis } from '../../domain/diagnosis.ts'
import { AVAILABILITY_CODES, MATERIAL_TYPE_CODES, QUANTITY_UNIT_CODES, STORAGE_TEMPERATURE_CODES } from '../../domain/vocabulary.ts'
import { IMPORT_COLUMNS, type ImportColumn } from './format.ts'

export interface RowProblem {
  column: ImportColumn | null
  code: string
  detail?: string
}

/** A row's values as they go to the staging table (null: empty, or not valid). */
export interface CheckedRow {
  sampleLabel: string | null
  materialType: string | null
  /** ISO 8601, re-assembled from checked parts, so PostgreSQL reads it (a missing offset means Danish time). */
  collectedAt: string | null
  storageTemperature: string | null
  parentLabel: string | null
  /** Decimal with a point. */
  quantity: string | null
  quantityUnit: string | null
  storageLocation: string | null
  sprec: string | null
  diagnosis: string | null
  availability: string | null
}

const LABEL = /^[A-Za-z0-9._-]{1,64}$/
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i
const QUANTITY = /^(\d+)(?:[.,](\d+))?$/
const LOCATION = /^[A-Za-z0-9._-]{1,32}\/[A-Za-z0-9._-]{1,32}\/[A-Za-z0-9._-]{1,32}\/[A-Za-z0-9._-]{1,32}$/
const materials = new Set<string>(MATERIAL_TYPE_CODES)
const temperatures = new Set<string>(STORAGE_TEMPERATURE_CODES)
const units = new Set<string>(QUANTITY_UNIT_CODES)
const availabilities = new Set<string>(AVAILABILITY_CODES)
/** numeric(14, 3): at most 11 digits before the point. */
const MAX_INTEGER_DIGITS = 11

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysIn = (year: number, month: number) =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS_IN_MONTH[month - 1]!

/** The date (or date-time) in a form PostgreSQL accepts, or undefined if it is not a real ISO 8601 moment. */
export function isoMoment(value: string): string | undefined {
  const m = ISO.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h, mi, s, , offset] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59))) return undefined
  if (offset !== undefined && offset.length > 1 && (Number(offset.slice(1, 3)) > 14 || (offset.length > 3 && Number(offset.slice(-2)) > 59))) return undefined
  // PostgreSQL reads every form the pattern allows; only a lower-case t or z is made upper case.
  return value.toUpperCase()
}

/** A valid quantity as a decimal with a point, or the reason it is not one. */
function quantityOf(value: string): string | { code: string } {
  const m = QUANTITY.exec(value)
  if (!m) return { code: 'quantity.format' }
  const whole = m[1]!.replace(/^0+(?=\d)/, '')
  const fraction = (m[2] ?? '').replace(/0+$/, '')
  if (fraction.length > 3) return { code: 'quantity.decimals' }
  if (whole === '0' && fraction === '') return { code: 'quantity.positive' }
  if (whole.length > MAX_INTEGER_DIGITS) return { code: 'quantity.too_large' }
  return fraction === '' ? whole : `${whole}.${fraction}`
}

/** A value shown back to the user: one line, short. */
const shown = (value: string) => value.replace(/\p{Cc}/gu, ' ').slice(0, 60)

type Positions = Record<ImportColumn, number>

/**
 * Checks rows of one file (its header gave the column positions). The result object is reused from row to row:
 * read it before checking the next row. Nothing is allocated for a good row beyond its normalised values.
 */
export class RowChecker {
  private readonly result: CheckedRow = {
    sampleLabel: null,
    materialType: null,
    collectedAt: null,
    storageTemperature: null,
    parentLabel: null,
    quantity: null,
    quantityUnit: null,
    storageLocation: null,
    sprec: null,
    diagnosis: null,
    availability: null,
  }

  constructor(private readonly positions: Positions) {}

  /** The raw (trimmed) value of a column, '' when the row is short. */
  value(fields: readonly string[], column: ImportColumn): string {
    return fields[this.positions[column]] ?? ''
  }

  /**
   * Checks one record; pushes its problems. A record with the wrong number of fields is reported for that alone
   * (undefined is returned).
   */
  check(fields: readonly string[], problems: RowProblem[]): CheckedRow | undefined {
    if (fields.length !== IMPORT_COLUMNS.length) {
      problems.push({ column: null, code: 'row.fields', detail: String(fields.length) })
      return undefined
    }
    const p = this.positions
    const r = this.result

    const label = fields[p.sample_label]!
    if (label === '') r.sampleLabel = fail(problems, 'sample_label', 'required')
    else r.sampleLabel = LABEL.test(label) ? label : fail(problems, 'sample_label', 'label.format')

    r.materialType = vocabulary(problems, fields[p.material_type]!, 'material_type', materials, 'material.unknown', true)

    const collected = fields[p.collected_at]!
    if (collected === '') r.collectedAt = fail(problems, 'collected_at', 'required')
    else r.collectedAt = isoMoment(collected) ?? fail(problems, 'collected_at', 'date.format')

    r.storageTemperature = vocabulary(problems, fields[p.storage_temperature]!, 'storage_temperature', temperatures, 'temperature.unknown', true)

    const parent = fields[p.parent_label]!
    r.parentLabel = null
    if (parent !== '') {
      if (!LABEL.test(parent)) fail(problems, 'parent_label', 'parent.format')
      else if (parent === label) fail(problems, 'parent_label', 'parent.self')
      else r.parentLabel = parent
    }

    const quantity = fields[p.quantity]!
    const unit = fields[p.quantity_unit]!
    r.quantity = null
    if (quantity === '') {
      if (unit !== '') fail(problems, 'quantity', 'quantity.required')
    } else {
      const parsed = quantityOf(quantity)
      if (typeof parsed === 'string') r.quantity = parsed
      else fail(problems, 'quantity', parsed.code)
    }
    r.quantityUnit = null
    if (unit === '') {
      if (quantity !== '') fail(problems, 'quantity_unit', 'unit.required')
    } else {
      r.quantityUnit = units.has(unit) ? unit : fail(problems, 'quantity_unit', 'unit.unknown', shown(unit))
    }

    const location = fields[p.storage_location]!
    r.storageLocation = location === '' ? null : LOCATION.test(location) ? location : fail(problems, 'storage_location', 'location.format')

    const sprec = fields[p.sprec]!
    r.sprec = null
    if (sprec !== '') {
      const result = validateSprec(sprec)
      r.sprec = result.ok ? result.value : fail(problems, 'sprec', `sprec.${result.error}`)
    }
    const diagnosis = fields[p.diagnosis]!
    r.diagnosis = null
    if (diagnosis !== '') {
      const result = normaliseDiagnosis(diagnosis)
      r.diagnosis = result.ok ? result.value : fail(problems, 'diagnosis', `diagnosis.${result.error}`)
    }

    const availability = fields[p.availability]!
    r.availability = availability === '' ? 'available' : vocabulary(problems, availability, 'availability', availabilities, 'availability.unknown', false)
    return r
  }
}

function fail(problems: RowProblem[], column: ImportColumn, code: string, detail?: string): null {
  problems.push({ column, code, detail })
  return null
}

function vocabulary(problems: RowProblem[], value: string, column: ImportColumn, codes: Set<string>, code: string, required: boolean): string | null {
  if (value === '') return required ? fail(problems, column, 'required') : null
  return codes.has(value) ? value : fail(problems, column, code, shown(value))
}
