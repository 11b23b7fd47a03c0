// Find samples (/medarbejder/soeg): criteria in the query string (GET, bookmarkable, paged by an opaque cursor),
// and a search by donor CPR number, which is POSTed (never in a URL) and answered directly (no redirect).
import { Router, type Request, type Response } from 'express'
import { z } from 'zod'
import type { Services } from '../../server/services/index.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { HttpError } from '../../server/errorHandler.ts'
import { DATE_ORDER_ISSUE, sampleCriteriaSchema, type SampleCriteria } from '../../server/domain/sampleCriteria.ts'
import { cprErrorMessage } from '../../server/domain/cpr.ts'
import { availabilities, label, lineages, materialTypes, type Lang } from '../../server/domain/vocabulary.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'
import { CPR_RESULT_CAP, InvalidCriteriaError, InvalidCursorError, type SampleSearchRow, type SearchPage } from '../../server/services/searchService.ts'

const SEARCH_PATH = '/medarbejder/soeg'
const FIELDS = ['label', 'materialType', 'collectedFrom', 'collectedTo', 'biobank', 'availability'] as const
type Field = (typeof FIELDS)[number]

/** The id of a field's input on the page (error summary links point at it). */
const fieldId = (field: Field | 'cpr') => `search-${field}`

type FieldErrors = Partial<Record<Field | 'cpr', string>>

const textOf = (value: unknown): string => (typeof value === 'string' ? value.slice(0, 200) : '')

/** What the user typed, to fill the form in again (only strings; a repeated parameter shows as empty). */
function formValues(query: Record<string, unknown>): Record<Field, string> {
  return Object.fromEntries(FIELDS.map((field) => [field, textOf(query[field])])) as Record<Field, string>
}

function fieldErrors(issues: { field: string; code: string; message?: string }[], t: Response['locals']['t']): FieldErrors {
  const errors: FieldErrors = {}
  for (const issue of issues) {
    const field = FIELDS.find((f) => f === issue.field)
    if (!field || errors[field]) continue
    errors[field] = t(field === 'collectedTo' && issue.message === DATE_ORDER_ISSUE ? 'staffSearch.errors.dateOrder' : `staffSearch.errors.${field}`)
  }
  return errors
}

/** The criteria as a query string, for paging links and exports: only the filled-in fields, in a fixed order. */
function criteriaQuery(criteria: SampleCriteria): URLSearchParams {
  const params = new URLSearchParams()
  for (const field of FIELDS) {
    const value = criteria[field]
    if (value !== undefined) params.set(field, value)
  }
  return params
}

const dateFormats: Record<Lang, Intl.DateTimeFormat> = {
  da: new Intl.DateTimeFormat('da-DK', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Europe/Copenhagen' }),
  en: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Europe/Copenhagen' }),
}
const isoDay = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'Europe/Copenhagen' })

function rowView(row: SampleSearchRow, lang: Lang) {
  return {
    publicId: row.publicId,
    label: row.label,
    href: `/medarbejder/proever/${encodeURIComponent(row.publicId)}`,
    materialType: label(materialTypes, row.materialType, lang),
    collected: dateFormats[lang].format(row.collectedAt),
    collectedIso: isoDay.format(row.collectedAt),
    biobankCode: row.biobankCode,
    biobankName: row.biobankName,
    availability: label(availabilities, row.availability, lang),
    lineage: label(lineages, row.lineage, lang),
  }
}

/** Everything the page shows except the results. */
async function formModel(services: Services, user: StaffSessionUser, lang: Lang, values: Record<Field, string>) {
  const biobanks = await services.search.biobankChoices(user)
  return {
    values,
    fieldId,
    materialTypeOptions: materialTypes.map((m) => ({ value: m.code, text: m[lang] })),
    availabilityOptions: availabilities.map((a) => ({ value: a.code, text: a[lang] })),
    // Only the auditor reads more than one biobank; the others always search their own.
    biobankOptions: user.role === 'auditor' ? biobanks.map((b) => ({ value: b.code, text: `${b.name} (${b.code})` })) : undefined,
    ownBiobankName: user.role === 'auditor' ? undefined : biobanks[0]?.name,
    canPrintLabels: user.role !== 'auditor',
  }
}

function render(res: Response, status: number, model: Record<string, unknown>) {
  const defaults = { errors: {}, notice: undefined, results: undefined, cprResult: undefined, exportLinks: undefined }
  res.status(status).render('pages/staff/search/index', { ...defaults, ...model })
}

/** `path` with the criteria (and a cursor) as its query, or the bare path when there are none. */
function withCriteria(path: string, criteria: SampleCriteria, cursor?: string): string {
  const params = criteriaQuery(criteria)
  if (cursor !== undefined) params.set('cursor', cursor)
  return params.size > 0 ? `${path}?${params.toString()}` : path
}

function pageModel(page: SearchPage, criteria: SampleCriteria, lang: Lang) {
  const link = (cursor: string | undefined) => (cursor === undefined ? undefined : withCriteria(SEARCH_PATH, criteria, cursor))
  return {
    rows: page.rows.map((row) => rowView(row, lang)),
    nextHref: link(page.nextCursor),
    previousHref: link(page.previousCursor),
    firstHref: page.previousCursor === undefined ? undefined : withCriteria(SEARCH_PATH, criteria),
  }
}

export default function searchRoutes(services: Services): Router {
  const router = Router()

  router.get(SEARCH_PATH, async (req: Request, res: Response) => {
    const user = staffOf(req)
    const lang = req.lang
    const t = res.locals.t
    const query = req.query as Record<string, unknown>
    const values = formValues(query)
    const form = await formModel(services, user, lang, values)

    const parsed = sampleCriteriaSchema.safeParse(query)
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? ''), code: issue.code, message: issue.message }))
      // Only the auditor has a biobank field; anyone else naming a biobank is outside their scope, as the service says.
      if (user.role !== 'auditor' && issues.some((issue) => issue.field === 'biobank')) throw new HttpError(403, 'biobank outside the user’s scope')
      return render(res, 400, { ...form, errors: fieldErrors(issues, t) })
    }
    const criteria = parsed.data
    const cursor = typeof query.cursor === 'string' ? query.cursor : undefined

    let page: SearchPage
    let notice: string | undefined
    try {
      try {
        page = await services.search.search(user, criteria, cursor)
      } catch (error) {
        // An edited or outdated page link: show the first page and say why.
        if (!(error instanceof InvalidCursorError)) throw error
        notice = t('staffSearch.results.badCursor')
        page = await services.search.search(user, criteria)
      }
    } catch (error) {
      if (!(error instanceof InvalidCriteriaError)) throw error
      return render(res, 400, { ...form, errors: fieldErrors(error.issues, t) })
    }

    // Exports (built elsewhere) take the same criteria; only the biobank admin may export.
    const exportLinks =
      user.role === 'biobank_admin' ? { csv: withCriteria('/medarbejder/eksport.csv', criteria), fhir: withCriteria('/medarbejder/eksport.fhir.json', criteria) } : undefined
    render(res, 200, { ...form, notice, results: pageModel(page, criteria, lang), exportLinks })
  })

  // The CPR results have no address of their own (the number is never in a URL): a GET there, such as the language
  // switch on that page, goes back to the search page.
  router.get(`${SEARCH_PATH}/cpr`, (_req: Request, res: Response) => res.redirect(303, SEARCH_PATH))

  router.post(`${SEARCH_PATH}/cpr`, async (req: Request, res: Response) => {
    const user = staffOf(req)
    const lang = req.lang
    const body = z.object({ cpr: z.string().max(100).optional() }).safeParse(req.body)
    const cpr = body.success ? (body.data.cpr ?? '') : ''
    const form = await formModel(services, user, lang, formValues({}))

    const result = await services.search.searchByCpr(user, cpr, typeof req.id === 'string' ? req.id : undefined)
    if (!result.ok) return render(res, 400, { ...form, errors: { cpr: cprErrorMessage(result.error, lang) } })
    render(res, 200, {
      ...form,
      cprResult: {
        maskedCpr: result.maskedCpr,
        rows: result.rows.map((row) => rowView(row, lang)),
        total: result.total,
        capped: result.capped,
        cap: CPR_RESULT_CAP,
      },
    })
  })

  return router
}
