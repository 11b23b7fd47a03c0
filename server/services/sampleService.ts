// Registering and editing samples of one's own biobank: donor by CPR, vocabularies, lineage, events, versioned edits.
// Every method takes the signed-in staff user and checks the role and biobank itself; every change writes its audit
// event (and, where it is one, its sample event) in the same transaction. Form input is validated here with zod and
// answered with error codes per field (`label.taken`, `cpr.format`), which the page turns into text in the user's language.
import { OptimisticLockError, QueryTypes, type Transaction } from 'sequelize'
import { z } from 'zod'
import type { ServiceDeps } from './serviceDeps.ts'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay, ForbiddenError, staffMay } from './authorization.ts'
import { maskCpr, parseCpr, redactCprs } from '../domain/cpr.ts'
import { validateSprec } from '../domain/sprec.ts'
import { normaliseDiagnosis } from '../domain/diagnosis.ts'
import {
  AVAILABILITY_CODES,
  MATERIAL_TYPE_CODES,
  QUANTITY_UNIT_CODES,
  STORAGE_TEMPERATURE_CODES,
  type Availability,
  type Lineage,
  type MaterialType,
  type QuantityUnit,
  type SampleEventType,
  type StorageTemperature,
} from '../domain/vocabulary.ts'
import type { Sample } from '../../models/index.ts'

/** Thrown for an unknown sample, a malformed id, or a sample the user may not read: all look the same (404). */
export class SampleNotFoundError extends Error {
  readonly status = 404
  constructor() {
    super('sample not found')
  }
}

/** The names of the form fields; `_form` is an error about the whole form (shown in the summary only). */
export type SampleField =
  | 'biobank'
  | 'label'
  | 'donorCpr'
  | 'materialType'
  | 'storageTemperature'
  | 'collectedDate'
  | 'collectedTime'
  | 'quantity'
  | 'quantityUnit'
  | 'storageLocation'
  | 'sprec'
  | 'diagnosis'
  | 'availability'
  | 'lineage'
  | 'eventType'
  | 'occurredDate'
  | 'occurredTime'
  | 'newLocation'
  | 'note'
  | '_form'

/**
 * `code` is `<field>.<reason>` for our own rules (text in locales/<lang>/staffSamples.json under `errors`), or
 * `cpr.<CprError>`, `sprec.<SprecError>`, `diagnosis.<DiagnosisError>` for the domain modules' own messages.
 */
export interface FieldError {
  field: SampleField
  code: string
}

/** Event types staff record by hand ('collected' comes with registration, 'availability_changed' with an edit). */
export const RECORDABLE_EVENT_TYPES = ['received', 'processed', 'moved', 'thawed', 'frozen', 'distributed', 'destroyed'] as const
export type RecordableEventType = (typeof RECORDABLE_EVENT_TYPES)[number]

/** Availabilities in which a sample still occupies its storage place (mirrors samples_storage_location_in_use). */
const IN_STOCK: readonly Availability[] = ['available', 'reserved']

export const TIME_ZONE = 'Europe/Copenhagen'

/** A sample as the pages show it; never holds the CPR number. */
export interface SampleRecord {
  id: number
  publicId: string
  biobankId: number
  biobankCode: string
  biobankName: string
  label: string
  donorId: number
  materialType: MaterialType
  collectedAt: Date
  storageTemperature: StorageTemperature
  lineage: Lineage
  parent: { publicId: string; label: string; materialType: MaterialType } | null
  quantity: string | null
  quantityUnit: QuantityUnit | null
  storageLocation: string | null
  sprec: string | null
  diagnosis: string | null
  availability: Availability
  version: number
  createdAt: Date
  updatedAt: Date
  /** Who made the latest registered change, and when (from the audit trail). */
  lastChange: { by: string | null; at: Date } | null
}

export interface LineageNode {
  publicId: string
  label: string
  lineage: Lineage
  materialType: MaterialType
  availability: Availability
  /** False for a sample in a biobank the user may not read: shown without a link. */
  readable: boolean
  current: boolean
  children: LineageNode[]
}

export interface SampleEventView {
  id: number
  eventType: SampleEventType
  occurredAt: Date
  recordedAt: Date
  details: Record<string, unknown>
  staffName: string | null
}

export interface SampleDetail {
  sample: SampleRecord
  /** `150372-****`: the donor as staff see them. */
  donorCprMasked: string
  lineage: LineageNode
  events: SampleEventView[]
  /** Whether the user may edit, record events and derive (the service checks again on every change). */
  mayChange: boolean
}

export type FormValues = Record<string, string>

export type ChangeResult = { ok: true; changed: boolean } | { ok: false; errors: FieldError[] } | { ok: false; conflict: SampleRecord }
export type CreateResult = { ok: true; publicId: string } | { ok: false; errors: FieldError[] }

export interface RequestContext {
  requestId?: string
  now?: Date
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing form input
// ---------------------------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LABEL = /^[A-Za-z0-9._-]+$/
const LOCATION_PART = '[A-Za-z0-9._-]{1,32}'
const LOCATION = new RegExp(`^${LOCATION_PART}/${LOCATION_PART}/${LOCATION_PART}/${LOCATION_PART}$`)
const NOTE_MAX = 500

/** A form value as text: trimmed; a missing field is empty; anything else (a repeated field) is refused. */
const formText = z.preprocess((value) => (value === undefined || value === null ? '' : typeof value === 'string' ? value.trim() : value), z.string({ error: 'invalid' }))

type Check<T> = (value: string) => { ok: true; value: T } | { ok: false; code: string }

/** A zod schema from a check function: its error code becomes the issue message. */
function checked<T>(check: Check<T>) {
  return formText.transform((value, ctx): T => {
    const result = check(value)
    if (result.ok) return result.value
    ctx.addIssue({ code: 'custom', message: result.code })
    return z.NEVER
  })
}

/** An optional field: empty is null, anything else must pass `check`. */
function optional<T>(check: Check<T>): Check<T | null> {
  return (value) => (value === '' ? { ok: true, value: null } : check(value))
}

function oneOf<const T extends readonly string[]>(codes: T, field: string): Check<T[number]> {
  return (value) => ((codes as readonly string[]).includes(value) ? { ok: true, value: value as T[number] } : { ok: false, code: `${field}.${value === '' ? 'required' : 'invalid'}` })
}

const checkLabel: Check<string> = (value) => {
  if (value === '') return { ok: false, code: 'label.required' }
  if (value.length > 64) return { ok: false, code: 'label.tooLong' }
  if (!LABEL.test(value)) return { ok: false, code: 'label.format' }
  // A label is shown in page titles and logs, where a CPR number must never appear.
  if (redactCprs(value) !== value) return { ok: false, code: 'label.looksLikeCpr' }
  return { ok: true, value }
}

const checkCpr: Check<{ cpr: string; birthDate: Date }> = (value) => {
  const result = parseCpr(value)
  return result.ok ? { ok: true, value: { cpr: result.cpr, birthDate: result.birthDate } } : { ok: false, code: `cpr.${result.error}` }
}

const checkLocation =
  (field: 'storageLocation' | 'newLocation'): Check<string> =>
  (value) => {
    if (value === '') return { ok: false, code: `${field}.required` }
    const place = value.replace(/\s*\/\s*/g, '/')
    return LOCATION.test(place) ? { ok: true, value: place } : { ok: false, code: `${field}.format` }
  }

/** A positive decimal with at most 3 decimals (comma or point), as numeric(14,3) prints it: `0.500`. */
const checkQuantity: Check<string> = (value) => {
  const match = /^(\d{1,11})(?:[.,](\d{1,3}))?$/.exec(value.replace(/\s/g, ''))
  if (!match) return { ok: false, code: 'quantity.format' }
  const whole = match[1]!.replace(/^0+(?=\d)/, '')
  const canonical = `${whole}.${(match[2] ?? '').padEnd(3, '0')}`
  if (/^0\.000$/.test(canonical)) return { ok: false, code: 'quantity.positive' }
  return { ok: true, value: canonical }
}

const checkSprec: Check<string> = (value) => {
  const result = validateSprec(value)
  return result.ok ? { ok: true, value: result.value } : { ok: false, code: `sprec.${result.error}` }
}

const checkDiagnosis: Check<string> = (value) => {
  const result = normaliseDiagnosis(value)
  return result.ok ? { ok: true, value: result.value } : { ok: false, code: `diagnosis.${result.error}` }
}

interface CalendarDate {
  year: number
  month: number
  day: number
}

/** `12-03-2024`, `12.03.2024`, `12/3/2024` (Danish order) or `2024-03-12` (ISO). */
const checkDate =
  (field: 'collectedDate' | 'occurredDate'): Check<CalendarDate> =>
  (value) => {
    if (value === '') return { ok: false, code: `${field}.required` }
    const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value)
    const danish = /^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$/.exec(value)
    const [year, month, day] = iso ? [iso[1], iso[2], iso[3]] : danish ? [danish[3], danish[2], danish[1]] : []
    if (!year || !month || !day) return { ok: false, code: `${field}.format` }
    const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
    if (date.getUTCFullYear() !== Number(year) || date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day) || Number(year) < 1900) {
      return { ok: false, code: `${field}.invalid` }
    }
    return { ok: true, value: { year: Number(year), month: Number(month), day: Number(day) } }
  }

/** `09:40` or `9.40`. */
const checkTime =
  (field: 'collectedTime' | 'occurredTime'): Check<{ hour: number; minute: number }> =>
  (value) => {
    if (value === '') return { ok: false, code: `${field}.required` }
    const match = /^(\d{1,2})[:.](\d{2})$/.exec(value)
    if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) return { ok: false, code: `${field}.format` }
    return { ok: true, value: { hour: Number(match[1]), minute: Number(match[2]) } }
  }

const checkNote: Check<string | null> = (value) => {
  if (value.length > NOTE_MAX) return { ok: false, code: 'note.tooLong' }
  if (redactCprs(value) !== value) return { ok: false, code: 'note.looksLikeCpr' }
  return { ok: true, value: value === '' ? null : value }
}

const checkVersion: Check<number> = (value) => (/^[1-9]\d{0,8}$/.test(value) ? { ok: true, value: Number(value) } : { ok: false, code: '_form.version' })

const fieldSchemas = {
  label: checked(checkLabel),
  donorCpr: checked(checkCpr),
  materialType: checked(oneOf(MATERIAL_TYPE_CODES, 'materialType')),
  storageTemperature: checked(oneOf(STORAGE_TEMPERATURE_CODES, 'storageTemperature')),
  collectedDate: checked(checkDate('collectedDate')),
  collectedTime: checked(optional(checkTime('collectedTime'))),
  quantity: checked(optional(checkQuantity)),
  quantityUnit: checked(optional(oneOf(QUANTITY_UNIT_CODES, 'quantityUnit'))),
  storageLocation: checked(optional(checkLocation('storageLocation'))),
  sprec: checked(optional(checkSprec)),
  diagnosis: checked(optional(checkDiagnosis)),
  availability: checked(oneOf(AVAILABILITY_CODES, 'availability')),
  lineage: checked(oneOf(['aliquot', 'derivative'] as const, 'lineage')),
  eventType: checked(oneOf(RECORDABLE_EVENT_TYPES, 'eventType')),
  occurredDate: checked(checkDate('occurredDate')),
  occurredTime: checked(checkTime('occurredTime')),
  newLocation: checked(checkLocation('newLocation')),
  note: checked(checkNote),
  version: checked(checkVersion),
}

type FieldSchemas = typeof fieldSchemas
type Parsed<K extends keyof FieldSchemas> = { [P in K]?: z.output<FieldSchemas[P]> }

/** Parses the named fields; a field with an error is left out of the result and reported once. */
function parseFields<K extends keyof FieldSchemas>(raw: Record<string, unknown>, names: readonly K[], errors: FieldError[]): Parsed<K> {
  const parsed: Parsed<K> = {}
  for (const name of names) {
    const result = fieldSchemas[name].safeParse(raw[name])
    if (result.success) parsed[name] = result.data as Parsed<K>[K]
    else {
      const issue = result.error.issues[0]?.message ?? 'invalid'
      const code = issue !== 'invalid' ? issue : name === 'version' ? '_form.version' : `${name}.invalid`
      errors.push({ field: code.startsWith('_form.') ? '_form' : (name as SampleField), code })
    }
  }
  return parsed
}

/** Quantity and unit come together or not at all. */
function checkQuantityPair(raw: Record<string, unknown>, errors: FieldError[]): void {
  const given = (name: string) => typeof raw[name] === 'string' && (raw[name] as string).trim() !== ''
  if (given('quantity') && !given('quantityUnit') && !errors.some((e) => e.field === 'quantityUnit')) errors.push({ field: 'quantityUnit', code: 'quantityUnit.withoutUnit' })
  if (given('quantityUnit') && !given('quantity') && !errors.some((e) => e.field === 'quantity')) errors.push({ field: 'quantity', code: 'quantity.withoutQuantity' })
}

// ---------------------------------------------------------------------------------------------------------------
// Danish local time
// ---------------------------------------------------------------------------------------------------------------

const zoneParts = new Intl.DateTimeFormat('en-US', {
  timeZone: TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
})

/** The wall-clock fields in Denmark at `instant`. */
export function copenhagenFields(instant: Date): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(zoneParts.formatToParts(instant).map((p) => [p.type, p.value]))
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second) }
}

function zoneOffsetMs(instant: number): number {
  const f = copenhagenFields(new Date(instant))
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - Math.floor(instant / 1000) * 1000
}

/** The instant of a Danish wall-clock time (summer time included). */
export function copenhagenInstant(date: CalendarDate, time: { hour: number; minute: number } | null): Date {
  const wall = Date.UTC(date.year, date.month - 1, date.day, time?.hour ?? 0, time?.minute ?? 0)
  const first = wall - zoneOffsetMs(wall)
  return new Date(wall - zoneOffsetMs(first))
}

const pad = (n: number) => String(n).padStart(2, '0')

/** `12-03-2024` and `09:40` in Danish time: how the forms show a stored instant. */
export function formDateTime(instant: Date): { date: string; time: string } {
  const f = copenhagenFields(instant)
  return { date: `${pad(f.day)}-${pad(f.month)}-${f.year}`, time: `${pad(f.hour)}:${pad(f.minute)}` }
}

// ---------------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------------

/** Refuses the roles that may register nowhere (the auditor) before anything is looked up. */
function assertMayRegisterSomewhere(user: StaffSessionUser): void {
  if (user?.kind !== 'staff' || user.biobankId === null || !staffMay(user, 'register', user.biobankId)) {
    throw new ForbiddenError(`${user?.kind === 'staff' ? user.role : 'non-staff'} may not change samples`)
  }
}

/** The field error a unique violation means, or undefined for any other error. */
function uniqueViolation(error: unknown, locationField: 'storageLocation' | 'newLocation' = 'storageLocation'): FieldError | undefined {
  const e = error as { name?: string; parent?: { code?: string; constraint?: string }; original?: { constraint?: string } }
  const constraint = e.parent?.constraint ?? e.original?.constraint
  if (e.name !== 'SequelizeUniqueConstraintError' && e.parent?.code !== '23505') return undefined
  if (constraint === 'samples_storage_location_in_use') return { field: locationField, code: `${locationField}.taken` }
  if (constraint === 'samples_label_per_biobank') return { field: 'label', code: 'label.taken' }
  return undefined
}

class Refusal extends Error {
  constructor(readonly errors: FieldError[]) {
    super('refused')
  }
}

interface SampleRow {
  id: string
  publicId: string
  biobankId: number
  biobankCode: string
  biobankName: string
  label: string
  donorId: string
  materialType: MaterialType
  collectedAt: Date
  storageTemperature: StorageTemperature
  lineage: Lineage
  parentPublicId: string | null
  parentLabel: string | null
  parentMaterialType: MaterialType | null
  quantity: string | null
  quantityUnit: QuantityUnit | null
  storageLocation: string | null
  sprec: string | null
  diagnosis: string | null
  availability: Availability
  version: number
  createdAt: Date
  updatedAt: Date
  lastChangeBy: string | null
  lastChangeAt: Date | null
}

const SAMPLE_SELECT = `
  select s.id, s.public_id as "publicId", s.biobank_id as "biobankId", b.code as "biobankCode", b.name as "biobankName",
         s.label, s.donor_id as "donorId", s.material_type as "materialType", s.collected_at as "collectedAt",
         s.storage_temperature as "storageTemperature", s.lineage, p.public_id as "parentPublicId", p.label as "parentLabel",
         p.material_type as "parentMaterialType", s.quantity, s.quantity_unit as "quantityUnit",
         s.storage_location as "storageLocation", s.sprec, s.diagnosis, s.availability, s.version,
         s.created_at as "createdAt", s.updated_at as "updatedAt", last.name as "lastChangeBy", last.occurred_at as "lastChangeAt"
    from samples s
    join biobanks b on b.id = s.biobank_id
    left join samples p on p.id = s.parent_id
    left join lateral (
      select su.name, a.occurred_at from audit_events a left join staff_users su on su.id = a.actor_staff_id
       where a.sample_id = s.id and a.action in ('sample.create', 'sample.update', 'sample.event', 'sample.derive')
       order by a.id desc limit 1
    ) last on true`

function toRecord(row: SampleRow): SampleRecord {
  return {
    id: Number(row.id),
    publicId: row.publicId,
    biobankId: row.biobankId,
    biobankCode: row.biobankCode,
    biobankName: row.biobankName,
    label: row.label,
    donorId: Number(row.donorId),
    materialType: row.materialType,
    collectedAt: row.collectedAt,
    storageTemperature: row.storageTemperature,
    lineage: row.lineage,
    parent: row.parentPublicId ? { publicId: row.parentPublicId, label: row.parentLabel!, materialType: row.parentMaterialType! } : null,
    quantity: row.quantity,
    quantityUnit: row.quantityUnit,
    storageLocation: row.storageLocation,
    sprec: row.sprec,
    diagnosis: row.diagnosis,
    availability: row.availability,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastChange: row.lastChangeAt ? { by: row.lastChangeBy, at: row.lastChangeAt } : null,
  }
}

/** Form values of a stored sample, for the edit form. */
export function formValuesOf(sample: SampleRecord): FormValues {
  const collected = formDateTime(sample.collectedAt)
  return {
    materialType: sample.materialType,
    storageTemperature: sample.storageTemperature,
    collectedDate: collected.date,
    collectedTime: collected.time,
    quantity: sample.quantity ?? '',
    quantityUnit: sample.quantityUnit ?? '',
    storageLocation: sample.storageLocation ?? '',
    sprec: sample.sprec ?? '',
    diagnosis: sample.diagnosis ?? '',
    availability: sample.availability,
    version: String(sample.version),
  }
}

export function createSampleService(deps: ServiceDeps) {
  const { database, cpr, audit } = deps
  const { sequelize, models } = database
  const { Sample, SampleEvent, Biobank } = models

  async function findRow(where: 'public_id' | 'id', value: string | number, transaction?: Transaction): Promise<SampleRow | undefined> {
    const [row] = await sequelize.query<SampleRow>(`${SAMPLE_SELECT} where s.${where} = :value`, { replacements: { value }, transaction, type: QueryTypes.SELECT })
    return row
  }

  /** The sample, if it exists and the user may read it; otherwise 404. */
  async function readable(user: StaffSessionUser, publicId: string, transaction?: Transaction): Promise<SampleRecord> {
    if (typeof publicId !== 'string' || !UUID.test(publicId)) throw new SampleNotFoundError()
    const row = await findRow('public_id', publicId.toLowerCase(), transaction)
    if (!row || !staffMay(user, 'read', row.biobankId)) throw new SampleNotFoundError()
    return toRecord(row)
  }

  /** A sample the user may change: 404 unless readable, 403 unless the user may register in its biobank. */
  async function changeable(user: StaffSessionUser, publicId: string): Promise<SampleRecord> {
    assertMayRegisterSomewhere(user)
    const sample = await readable(user, publicId)
    assertStaffMay(user, 'register', sample.biobankId)
    return sample
  }

  /** Locks the sample row for a change; 404 unless readable, 403 unless the user may register in its biobank. */
  async function lockForChange(user: StaffSessionUser, publicId: string, transaction: Transaction): Promise<{ record: SampleRecord; model: Sample }> {
    const record = await readable(user, publicId, transaction)
    assertStaffMay(user, 'register', record.biobankId)
    const model = await Sample.findByPk(record.id, { transaction, lock: transaction.LOCK.UPDATE })
    if (!model) throw new SampleNotFoundError()
    // Re-read after the lock: a change committed while we waited must be seen by the version check.
    const fresh = await findRow('id', record.id, transaction)
    return { record: toRecord(fresh!), model }
  }

  async function labelTaken(biobankId: number, label: string, transaction?: Transaction): Promise<boolean> {
    return (await Sample.count({ where: { biobankId, label }, transaction })) > 0
  }

  async function locationTaken(biobankId: number, location: string, exceptSampleId: number | null, transaction?: Transaction): Promise<boolean> {
    const [row] = await sequelize.query<{ n: string }>(
      `select count(*) as n from samples where biobank_id = :biobankId and storage_location = :location
          and availability in ('available', 'reserved') and (:except::bigint is null or id <> :except::bigint)`,
      { replacements: { biobankId, location, except: exceptSampleId }, transaction, type: QueryTypes.SELECT },
    )
    return Number(row?.n ?? 0) > 0
  }

  async function lineageOf(user: StaffSessionUser, sample: SampleRecord, transaction?: Transaction): Promise<LineageNode> {
    const rows = await sequelize.query<{ id: string; parentId: string | null; publicId: string; label: string; lineage: Lineage; materialType: MaterialType; availability: Availability; biobankId: number }>(
      `with recursive ancestors (id, parent_id, depth) as (
         select id, parent_id, 0 from samples where id = :id
         union all
         select p.id, p.parent_id, a.depth + 1 from samples p join ancestors a on p.id = a.parent_id where a.depth < 100
       ), descendants (id, depth) as (
         select id, 1 from samples where parent_id = :id
         union all
         select c.id, d.depth + 1 from samples c join descendants d on c.parent_id = d.id where d.depth < 100
       )
       select s.id, s.parent_id as "parentId", s.public_id as "publicId", s.label, s.lineage, s.material_type as "materialType",
              s.availability, s.biobank_id as "biobankId"
         from samples s
        where s.id in (select id from ancestors union select id from descendants)
        order by s.label`,
      { replacements: { id: sample.id }, transaction, type: QueryTypes.SELECT },
    )
    const nodes = new Map<string, LineageNode & { parentId: string | null }>()
    for (const row of rows) {
      nodes.set(String(row.id), {
        parentId: row.parentId === null ? null : String(row.parentId),
        publicId: row.publicId,
        label: row.label,
        lineage: row.lineage,
        materialType: row.materialType,
        availability: row.availability,
        readable: staffMay(user, 'read', row.biobankId),
        current: Number(row.id) === sample.id,
        children: [],
      })
    }
    let root: LineageNode | undefined
    for (const node of nodes.values()) {
      const parent = node.parentId === null ? undefined : nodes.get(node.parentId)
      if (parent) parent.children.push(node)
      else root ??= node
    }
    const strip = ({ parentId: _parentId, ...node }: LineageNode & { parentId?: string | null }): LineageNode => ({ ...node, children: node.children.map(strip) })
    return strip(root!)
  }

  async function eventsOf(sampleId: number, transaction?: Transaction): Promise<SampleEventView[]> {
    const rows = await sequelize.query<{ id: string; eventType: SampleEventType; occurredAt: Date; recordedAt: Date; details: Record<string, unknown>; staffName: string | null }>(
      `select e.id, e.event_type as "eventType", e.occurred_at as "occurredAt", e.recorded_at as "recordedAt", e.details, su.name as "staffName"
         from sample_events e left join staff_users su on su.id = e.staff_user_id
        where e.sample_id = :sampleId
        order by e.occurred_at, e.id`,
      { replacements: { sampleId }, transaction, type: QueryTypes.SELECT },
    )
    return rows.map((row) => ({ ...row, id: Number(row.id) }))
  }

  const actor = (user: StaffSessionUser) => ({ kind: 'staff' as const, staffUserId: user.staffUserId })

  /** Runs `work` in a transaction; a Refusal or a unique violation becomes field errors, and nothing is written. */
  async function changing<T>(work: (transaction: Transaction) => Promise<T>, locationField?: 'storageLocation' | 'newLocation'): Promise<T | { ok: false; errors: FieldError[] }> {
    try {
      return await sequelize.transaction(work)
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, errors: error.errors }
      const mapped = uniqueViolation(error, locationField)
      if (mapped) return { ok: false, errors: [mapped] }
      throw error
    }
  }

  return {
    /** The biobank a new sample goes into; 403 for the auditor. */
    async startRegistration(user: StaffSessionUser): Promise<{ biobankCode: string; biobankName: string }> {
      assertMayRegisterSomewhere(user)
      const biobank = await Biobank.findByPk(user.biobankId!)
      assertStaffMay(user, 'register', biobank!.id)
      return { biobankCode: biobank!.code, biobankName: biobank!.name }
    },

    /**
     * Registers a primary sample. `raw.biobank` (a code) defaults to the user's own biobank; any other biobank is
     * refused with 403. The donor is found or created by CPR; the CPR is never returned, logged or audited.
     */
    async registerSample(user: StaffSessionUser, raw: Record<string, unknown>, context: RequestContext = {}): Promise<CreateResult> {
      assertMayRegisterSomewhere(user)
      const biobankCode = typeof raw.biobank === 'string' && raw.biobank.trim() !== '' ? raw.biobank.trim() : user.biobankCode
      const biobank = biobankCode ? await Biobank.findOne({ where: { code: biobankCode } }) : null
      if (!biobank) throw new ForbiddenError('unknown biobank')
      assertStaffMay(user, 'register', biobank.id)

      const now = context.now ?? new Date()
      const errors: FieldError[] = []
      const input = parseFields(
        raw,
        ['label', 'donorCpr', 'materialType', 'storageTemperature', 'collectedDate', 'collectedTime', 'quantity', 'quantityUnit', 'storageLocation', 'sprec', 'diagnosis', 'availability'],
        errors,
      )
      checkQuantityPair(raw, errors)
      let collectedAt: Date | undefined
      if (input.collectedDate && input.collectedTime !== undefined) {
        collectedAt = copenhagenInstant(input.collectedDate, input.collectedTime)
        if (collectedAt.getTime() > now.getTime()) errors.push({ field: 'collectedDate', code: 'collectedDate.future' })
      }
      if (input.label && (await labelTaken(biobank.id, input.label))) errors.push({ field: 'label', code: 'label.taken' })
      if (input.storageLocation && input.availability && IN_STOCK.includes(input.availability) && (await locationTaken(biobank.id, input.storageLocation, null))) {
        errors.push({ field: 'storageLocation', code: 'storageLocation.taken' })
      }
      if (errors.length > 0) return { ok: false, errors }

      return changing(async (transaction) => {
        const { cpr: donorCpr, birthDate } = input.donorCpr!
        const hmac = cpr.hash(donorCpr)
        await sequelize.query(`insert into donors (cpr_hmac, cpr_encrypted, birth_date) values (:hmac, :encrypted, :birthDate) on conflict (cpr_hmac) do nothing`, {
          replacements: { hmac, encrypted: cpr.encrypt(donorCpr), birthDate: birthDate.toISOString().slice(0, 10) },
          transaction,
        })
        const donor = await models.Donor.findOne({ where: { cprHmac: hmac }, attributes: ['id'], transaction })
        const sample = await Sample.create(
          {
            biobankId: biobank.id,
            label: input.label!,
            donorId: donor!.id,
            materialType: input.materialType!,
            collectedAt: collectedAt!,
            storageTemperature: input.storageTemperature!,
            lineage: 'primary',
            parentId: null,
            quantity: input.quantity ?? null,
            quantityUnit: input.quantityUnit ?? null,
            storageLocation: input.storageLocation ?? null,
            sprec: input.sprec ?? null,
            diagnosis: input.diagnosis ?? null,
            availability: input.availability!,
          },
          { transaction },
        )
        await SampleEvent.create({ sampleId: sample.id, eventType: 'collected', occurredAt: collectedAt!, details: { registered: true }, staffUserId: user.staffUserId }, { transaction })
        await audit.record(
          { actor: actor(user), action: 'sample.create', sampleId: sample.id, subjectDonorId: donor!.id, details: { label: sample.label, biobank: biobank.code }, requestId: context.requestId },
          transaction,
        )
        return { ok: true as const, publicId: sample.publicId }
      }, 'storageLocation')
    },

    /** The sample page: everything about one sample, the donor masked. Audited as `sample.view` (donor-identifying). */
    async getSample(user: StaffSessionUser, publicId: string, context: RequestContext = {}): Promise<SampleDetail> {
      return sequelize.transaction(async (transaction) => {
        const sample = await readable(user, publicId, transaction)
        const donor = await models.Donor.findByPk(sample.donorId, { attributes: ['id', 'cprEncrypted'], transaction })
        const donorCprMasked = maskCpr(cpr.decrypt(donor!.cprEncrypted))
        const [lineage, events] = [await lineageOf(user, sample, transaction), await eventsOf(sample.id, transaction)]
        await audit.record({ actor: actor(user), action: 'sample.view', sampleId: sample.id, subjectDonorId: sample.donorId, requestId: context.requestId }, transaction)
        return { sample, donorCprMasked, lineage, events, mayChange: staffMay(user, 'register', sample.biobankId) }
      })
    },

    /** The sample for its edit form: 404 unless readable, 403 unless the user may change it. */
    getSampleForEdit: (user: StaffSessionUser, publicId: string): Promise<SampleRecord> => changeable(user, publicId),

    /**
     * Saves an edit made on version `raw.version`. Label and donor cannot change. If the sample has changed since
     * that version, nothing is written and the current sample is returned as `conflict`.
     */
    async updateSample(user: StaffSessionUser, publicId: string, raw: Record<string, unknown>, context: RequestContext = {}): Promise<ChangeResult> {
      assertMayRegisterSomewhere(user)
      const now = context.now ?? new Date()
      return changing(async (transaction): Promise<ChangeResult> => {
        const { record, model } = await lockForChange(user, publicId, transaction)
        const errors: FieldError[] = []
        const { version } = parseFields(raw, ['version'], errors)
        if (version === undefined) return { ok: false, errors }
        if (version !== record.version) return { ok: false, conflict: record }

        const input = parseFields(
          raw,
          ['materialType', 'storageTemperature', 'collectedDate', 'collectedTime', 'quantity', 'quantityUnit', 'storageLocation', 'sprec', 'diagnosis', 'availability'],
          errors,
        )
        checkQuantityPair(raw, errors)
        let collectedAt: Date | undefined
        if (input.collectedDate && input.collectedTime !== undefined) {
          collectedAt = copenhagenInstant(input.collectedDate, input.collectedTime)
          if (collectedAt.getTime() > now.getTime()) errors.push({ field: 'collectedDate', code: 'collectedDate.future' })
        }
        // The lineage rule holds for a changed material type; old rows that predate it stay as they are.
        if (input.materialType && input.materialType !== record.materialType && record.parent) {
          if (record.lineage === 'aliquot' && input.materialType !== record.parent.materialType) errors.push({ field: 'materialType', code: 'materialType.aliquotSame' })
          if (record.lineage === 'derivative' && input.materialType === record.parent.materialType) errors.push({ field: 'materialType', code: 'materialType.derivativeOther' })
        }
        const place = input.storageLocation
        if (place && input.availability && IN_STOCK.includes(input.availability) && (await locationTaken(record.biobankId, place, record.id, transaction))) {
          errors.push({ field: 'storageLocation', code: 'storageLocation.taken' })
        }
        if (errors.length > 0) return { ok: false, errors }

        const next = {
          materialType: input.materialType!,
          storageTemperature: input.storageTemperature!,
          collectedAt: collectedAt!,
          quantity: input.quantity ?? null,
          quantityUnit: input.quantityUnit ?? null,
          storageLocation: input.storageLocation ?? null,
          sprec: input.sprec ?? null,
          diagnosis: input.diagnosis ?? null,
          availability: input.availability!,
        }
        const changed = (Object.keys(next) as (keyof typeof next)[]).filter((key) => {
          const before = record[key]
          const after = next[key]
          return before instanceof Date && after instanceof Date ? before.getTime() !== after.getTime() : before !== after
        })
        if (changed.length === 0) return { ok: true, changed: false }
        model.set(Object.fromEntries(changed.map((key) => [key, next[key]])))
        await saveVersioned(model, transaction)
        if (changed.includes('availability')) {
          await SampleEvent.create(
            { sampleId: record.id, eventType: 'availability_changed', occurredAt: now, details: { from: record.availability, to: next.availability }, staffUserId: user.staffUserId },
            { transaction },
          )
        }
        await audit.record(
          { actor: actor(user), action: 'sample.update', sampleId: record.id, subjectDonorId: record.donorId, details: { changed, version: record.version + 1 }, requestId: context.requestId },
          transaction,
        )
        return { ok: true, changed: true }
      }, 'storageLocation')
    },

    /**
     * Records an event on version `raw.version` of the sample. `moved` takes `newLocation`; `distributed` and
     * `destroyed` set the availability. A stale version is a conflict, as with an edit.
     */
    async recordEvent(user: StaffSessionUser, publicId: string, raw: Record<string, unknown>, context: RequestContext = {}): Promise<ChangeResult> {
      assertMayRegisterSomewhere(user)
      const now = context.now ?? new Date()
      return changing(async (transaction): Promise<ChangeResult> => {
        const { record, model } = await lockForChange(user, publicId, transaction)
        const errors: FieldError[] = []
        const { version } = parseFields(raw, ['version'], errors)
        if (version === undefined) return { ok: false, errors }
        if (version !== record.version) return { ok: false, conflict: record }

        const input = parseFields(raw, ['eventType', 'occurredDate', 'occurredTime', 'note'], errors)
        const type = input.eventType
        let occurredAt: Date | undefined
        if (input.occurredDate && input.occurredTime) {
          occurredAt = copenhagenInstant(input.occurredDate, input.occurredTime)
          if (occurredAt.getTime() > now.getTime()) errors.push({ field: 'occurredDate', code: 'occurredDate.future' })
          else if (occurredAt.getTime() < record.collectedAt.getTime()) errors.push({ field: 'occurredDate', code: 'occurredDate.beforeCollected' })
        }
        const stored = IN_STOCK.includes(record.availability)
        if (type && (type === 'moved' || type === 'distributed' || type === 'destroyed') && !stored) errors.push({ field: 'eventType', code: 'eventType.notInStock' })
        let newLocation: string | undefined
        if (type === 'moved') {
          newLocation = parseFields(raw, ['newLocation'], errors).newLocation
          if (newLocation && newLocation === record.storageLocation) errors.push({ field: 'newLocation', code: 'newLocation.same' })
          else if (newLocation && (await locationTaken(record.biobankId, newLocation, record.id, transaction))) errors.push({ field: 'newLocation', code: 'newLocation.taken' })
        }
        if (errors.length > 0) return { ok: false, errors }

        const details: Record<string, unknown> = {}
        if (input.note) details.note = input.note
        if (type === 'moved') {
          details.from = record.storageLocation
          details.to = newLocation
          model.set({ storageLocation: newLocation! })
        }
        if (type === 'distributed' || type === 'destroyed') {
          details.availabilityFrom = record.availability
          model.set({ availability: type })
        }
        if (model.changed()) await saveVersioned(model, transaction)
        const event = await SampleEvent.create({ sampleId: record.id, eventType: type!, occurredAt: occurredAt!, details, staffUserId: user.staffUserId }, { transaction })
        await audit.record(
          { actor: actor(user), action: 'sample.event', sampleId: record.id, subjectDonorId: record.donorId, details: { eventType: type, sampleEventId: event.id }, requestId: context.requestId },
          transaction,
        )
        return { ok: true, changed: true }
      }, 'newLocation')
    },

    /** The parent for the derive form: 404 unless readable, 403 unless the user may register in its biobank. */
    getParentForDerivation: (user: StaffSessionUser, parentPublicId: string): Promise<SampleRecord> => changeable(user, parentPublicId),

    /**
     * Creates an aliquot (same material type) or a derivative (another material type) of a parent in the parent's
     * biobank. The donor and the collection time are the parent's; a donor in the input is ignored.
     */
    async deriveSample(user: StaffSessionUser, parentPublicId: string, raw: Record<string, unknown>, context: RequestContext = {}): Promise<CreateResult> {
      assertMayRegisterSomewhere(user)
      const now = context.now ?? new Date()
      return changing(async (transaction): Promise<CreateResult> => {
        const parent = await readable(user, parentPublicId, transaction)
        assertStaffMay(user, 'register', parent.biobankId)
        // Share-lock the parent, so it cannot be destroyed while its child is being registered.
        await Sample.findByPk(parent.id, { transaction, lock: transaction.LOCK.SHARE })
        const errors: FieldError[] = []
        if (parent.availability === 'destroyed' || parent.availability === 'distributed') errors.push({ field: '_form', code: '_form.parentGone' })
        const input = parseFields(
          raw,
          ['lineage', 'label', 'materialType', 'storageTemperature', 'quantity', 'quantityUnit', 'storageLocation', 'sprec', 'diagnosis', 'availability'],
          errors,
        )
        checkQuantityPair(raw, errors)
        if (input.lineage === 'aliquot' && input.materialType && input.materialType !== parent.materialType) errors.push({ field: 'materialType', code: 'materialType.aliquotSame' })
        if (input.lineage === 'derivative' && input.materialType && input.materialType === parent.materialType) errors.push({ field: 'materialType', code: 'materialType.derivativeOther' })
        if (input.label && (await labelTaken(parent.biobankId, input.label, transaction))) errors.push({ field: 'label', code: 'label.taken' })
        if (input.storageLocation && input.availability && IN_STOCK.includes(input.availability) && (await locationTaken(parent.biobankId, input.storageLocation, null, transaction))) {
          errors.push({ field: 'storageLocation', code: 'storageLocation.taken' })
        }
        if (errors.length > 0) throw new Refusal(errors)

        const child = await Sample.create(
          {
            biobankId: parent.biobankId,
            label: input.label!,
            donorId: parent.donorId,
            materialType: input.materialType!,
            collectedAt: parent.collectedAt,
            storageTemperature: input.storageTemperature!,
            lineage: input.lineage!,
            parentId: parent.id,
            quantity: input.quantity ?? null,
            quantityUnit: input.quantityUnit ?? null,
            storageLocation: input.storageLocation ?? null,
            sprec: input.sprec ?? null,
            diagnosis: input.diagnosis ?? null,
            availability: input.availability!,
          },
          { transaction },
        )
        await SampleEvent.create(
          { sampleId: child.id, eventType: 'processed', occurredAt: now, details: { source: parent.label, lineage: input.lineage }, staffUserId: user.staffUserId },
          { transaction },
        )
        await audit.record(
          {
            actor: actor(user),
            action: 'sample.derive',
            sampleId: child.id,
            subjectDonorId: parent.donorId,
            details: { label: child.label, lineage: input.lineage, parentSampleId: parent.id, parentLabel: parent.label },
            requestId: context.requestId,
          },
          transaction,
        )
        return { ok: true, publicId: child.publicId }
      }, 'storageLocation')
    },
  }

  /** Saves with Sequelize's optimistic lock (`where version = …`, version + 1); a lost race is a Refusal. */
  async function saveVersioned(model: Sample, transaction: Transaction): Promise<void> {
    try {
      await model.save({ transaction })
    } catch (error) {
      if (error instanceof OptimisticLockError) throw new Refusal([{ field: '_form', code: '_form.changedMeanwhile' }])
      throw error
    }
  }
}

export type SampleService = ReturnType<typeof createSampleService>
