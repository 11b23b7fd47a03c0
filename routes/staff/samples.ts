// Register, edit and view samples (/medarbejder/proever/...). Thin: read the form, call the sample service (which
// checks role, biobank and every rule), render. Form errors come back as codes and are worded here, per language.
import { Router, type Request, type Response } from 'express'
import type { TFunction } from 'i18next'
import type { Services } from '../../server/services/index.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { cprErrorMessage, type CprError } from '../../server/domain/cpr.ts'
import { sprecErrorMessage, type SprecError } from '../../server/domain/sprec.ts'
import { diagnosisErrorMessage, type DiagnosisError } from '../../server/domain/diagnosis.ts'
import {
  availabilities,
  label,
  lineages,
  materialTypes,
  quantityUnits,
  sampleEventTypes,
  storageTemperatures,
  type Lang,
  type VocabularyEntry,
} from '../../server/domain/vocabulary.ts'
import {
  formDateTime,
  formValuesOf,
  RECORDABLE_EVENT_TYPES,
  TIME_ZONE,
  type FieldError,
  type FormValues,
  type SampleDetail,
  type SampleEventView,
  type SampleRecord,
} from '../../server/services/sampleService.ts'

const BASE = '/medarbejder/proever'

/** One error as the page shows it: the text, and the field it links to from the summary (none for the whole form). */
export interface ShownError {
  field: string
  message: string
  href: string | undefined
}

/** The text of an error code in the user's language; the domain modules word their own errors. */
export function errorMessage(code: string, t: TFunction, lang: Lang): string {
  const [kind, reason] = code.split('.') as [string, string]
  if (reason === 'invalid') return t(`staffSamples.errors.${code}`)
  if (kind === 'cpr') return cprErrorMessage(reason as CprError, lang)
  if (kind === 'sprec') return sprecErrorMessage(reason as SprecError, lang)
  if (kind === 'diagnosis') return diagnosisErrorMessage(reason as DiagnosisError, lang)
  return t(`staffSamples.errors.${code}`)
}

/** The id of the element a field's error links to (radio groups link to their first option). */
function fieldId(field: string): string {
  return field === 'lineage' ? 'lineage-aliquot' : field
}

function shown(errors: FieldError[], t: TFunction, lang: Lang): ShownError[] {
  return errors.map((e) => ({ field: e.field, message: errorMessage(e.code, t, lang), href: e.field === '_form' ? undefined : `#${fieldId(e.field)}` }))
}

/** The submitted form as text, for showing it again (never logged; the CPR field is only ever put back in its own input). */
function submitted(req: Request): FormValues {
  const body = (req.body ?? {}) as Record<string, unknown>
  const values: FormValues = {}
  for (const [key, value] of Object.entries(body)) if (key !== '_csrf' && typeof value === 'string') values[key] = value
  return values
}

function body(req: Request): Record<string, unknown> {
  return (req.body ?? {}) as Record<string, unknown>
}

const context = (req: Request) => ({ requestId: req.id === undefined ? undefined : String(req.id) })

const options = (vocabulary: readonly VocabularyEntry[], lang: Lang) => vocabulary.map((entry) => ({ value: entry.code, text: entry[lang] }))

/** Vocabularies, formatting and the texts of vocabulary codes, for every sample page. */
function viewHelpers(lang: Lang) {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB'
  const dateTime = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })
  const date = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, day: 'numeric', month: 'short', year: 'numeric' })
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 })
  return {
    options: {
      materialTypes: options(materialTypes, lang),
      storageTemperatures: options(storageTemperatures, lang),
      availabilities: options(availabilities, lang),
      quantityUnits: options(quantityUnits, lang),
      eventTypes: options(sampleEventTypes.filter((e) => (RECORDABLE_EVENT_TYPES as readonly string[]).includes(e.code)), lang),
    },
    fmt: {
      dateTime: (value: Date) => dateTime.format(value),
      date: (value: Date) => date.format(value),
      quantity: (quantity: string | null, unit: string | null) => (quantity === null ? null : `${number.format(Number(quantity))} ${label(quantityUnits, unit as never, lang)}`),
      materialType: (code: string) => label(materialTypes, code as never, lang),
      storageTemperature: (code: string) => label(storageTemperatures, code as never, lang),
      availability: (code: string) => label(availabilities, code as never, lang),
      lineage: (code: string) => label(lineages, code as never, lang),
      eventType: (code: string) => label(sampleEventTypes, code as never, lang),
    },
  }
}

type Helpers = ReturnType<typeof viewHelpers>

// In the order they are shown; keys not listed (from other sources) come last, as they are.
const DETAIL_KEYS = ['department', 'biobank', 'procedure', 'source', 'lineage', 'from', 'to', 'location', 'temperature', 'availabilityFrom', 'reason', 'reference', 'note'] as const

/** An event's details as label/value pairs in the user's language; codes become their labels. */
function eventDetails(event: SampleEventView, t: TFunction, helpers: Helpers): { label: string; value: string }[] {
  const availabilityChange = event.eventType === 'availability_changed'
  const rows: { order: number; label: string; value: string }[] = []
  for (const [key, raw] of Object.entries(event.details)) {
    if (key === 'registered' || raw === null || raw === undefined || raw === '') continue
    let value = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : JSON.stringify(raw)
    if (key === 'temperature') value = helpers.fmt.storageTemperature(value)
    if (key === 'lineage') value = helpers.fmt.lineage(value)
    if (key === 'availabilityFrom' || (availabilityChange && (key === 'from' || key === 'to'))) value = helpers.fmt.availability(value)
    const known = (DETAIL_KEYS as readonly string[]).includes(key)
    rows.push({ order: known ? DETAIL_KEYS.indexOf(key as (typeof DETAIL_KEYS)[number]) : DETAIL_KEYS.length, label: known ? t(`staffSamples.eventDetails.${key}`) : key, value })
  }
  return rows.sort((a, b) => a.order - b.order).map(({ label, value }) => ({ label, value }))
}

const MESSAGES = ['oprettet', 'gemt', 'uaendret', 'haendelse', 'afledt'] as const

function nowForForm(): { date: string; time: string } {
  return formDateTime(new Date())
}

export default function samplesRoutes(services: Services): Router {
  const router = Router()
  const { samples } = services

  function renderNew(req: Request, res: Response, status: number, biobank: { biobankCode: string; biobankName: string }, values: FormValues, errors: FieldError[]) {
    res.status(status).render('pages/staff/samples/new', { ...viewHelpers(req.lang), biobank, values, errors: shown(errors, res.locals.t, req.lang) })
  }

  async function renderSample(req: Request, res: Response, status: number, detail: SampleDetail, extra: { eventValues?: FormValues; eventErrors?: FieldError[]; conflict?: boolean } = {}) {
    const helpers = viewHelpers(req.lang)
    const now = nowForForm()
    const message = typeof req.query.besked === 'string' && (MESSAGES as readonly string[]).includes(req.query.besked) ? req.query.besked : undefined
    res.status(status).render('pages/staff/samples/show', {
      ...helpers,
      detail,
      events: detail.events.map((event) => ({ ...event, shownDetails: eventDetails(event, res.locals.t, helpers) })),
      message,
      conflict: extra.conflict ?? false,
      // After a conflict the form is shown again on the current version, with what the user typed.
      eventValues: { occurredDate: now.date, occurredTime: now.time, ...extra.eventValues, version: String(detail.sample.version) },
      eventErrors: shown(extra.eventErrors ?? [], res.locals.t, req.lang),
    })
  }

  function renderEdit(req: Request, res: Response, status: number, sample: SampleRecord, values: FormValues, errors: FieldError[], conflict?: SampleRecord) {
    res.status(status).render('pages/staff/samples/edit', {
      ...viewHelpers(req.lang),
      sample,
      values,
      errors: shown(errors, res.locals.t, req.lang),
      conflict,
    })
  }

  function renderDerive(req: Request, res: Response, status: number, parent: SampleRecord, values: FormValues, errors: FieldError[]) {
    res.status(status).render('pages/staff/samples/derive', { ...viewHelpers(req.lang), parent, values, errors: shown(errors, res.locals.t, req.lang) })
  }

  router.get(`${BASE}/ny`, async (req, res) => {
    const biobank = await samples.startRegistration(staffOf(req))
    renderNew(req, res, 200, biobank, { availability: 'available', biobank: biobank.biobankCode }, [])
  })

  router.post(`${BASE}/ny`, async (req, res) => {
    const user = staffOf(req)
    const result = await samples.registerSample(user, body(req), context(req))
    if (result.ok) return res.redirect(303, `${BASE}/${result.publicId}?besked=oprettet`)
    renderNew(req, res, 422, await samples.startRegistration(user), submitted(req), result.errors)
  })

  router.get(`${BASE}/:publicId`, async (req, res) => {
    const detail = await samples.getSample(staffOf(req), req.params.publicId, context(req))
    await renderSample(req, res, 200, detail)
  })

  router.get(`${BASE}/:publicId/rediger`, async (req, res) => {
    const sample = await samples.getSampleForEdit(staffOf(req), req.params.publicId)
    renderEdit(req, res, 200, sample, formValuesOf(sample), [])
  })

  router.post(`${BASE}/:publicId/rediger`, async (req, res) => {
    const user = staffOf(req)
    const { publicId } = req.params
    const result = await samples.updateSample(user, publicId, body(req), context(req))
    if (result.ok) return res.redirect(303, `${BASE}/${publicId}?besked=${result.changed ? 'gemt' : 'uaendret'}`)
    if ('conflict' in result) {
      // What the user typed stays in the form, now on the current version; the current values are shown beside it.
      return renderEdit(req, res, 409, result.conflict, { ...submitted(req), version: String(result.conflict.version) }, [], result.conflict)
    }
    renderEdit(req, res, 422, await samples.getSampleForEdit(user, publicId), submitted(req), result.errors)
  })

  router.post(`${BASE}/:publicId/haendelser`, async (req, res) => {
    const user = staffOf(req)
    const { publicId } = req.params
    const result = await samples.recordEvent(user, publicId, body(req), context(req))
    if (result.ok) return res.redirect(303, `${BASE}/${publicId}?besked=haendelse#haendelser`)
    const detail = await samples.getSample(user, publicId, context(req))
    if ('conflict' in result) return renderSample(req, res, 409, detail, { eventValues: submitted(req), conflict: true })
    await renderSample(req, res, 422, detail, { eventValues: submitted(req), eventErrors: result.errors })
  })

  router.get(`${BASE}/:publicId/afledt`, async (req, res) => {
    const parent = await samples.getParentForDerivation(staffOf(req), req.params.publicId)
    renderDerive(req, res, 200, parent, { materialType: parent.materialType, storageTemperature: parent.storageTemperature, diagnosis: parent.diagnosis ?? '', availability: 'available' }, [])
  })

  router.post(`${BASE}/:publicId/afledt`, async (req, res) => {
    const user = staffOf(req)
    const { publicId } = req.params
    const result = await samples.deriveSample(user, publicId, body(req), context(req))
    if (result.ok) return res.redirect(303, `${BASE}/${result.publicId}?besked=afledt`)
    renderDerive(req, res, 422, await samples.getParentForDerivation(user, publicId), submitted(req), result.errors)
  })

  return router
}
