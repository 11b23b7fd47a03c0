// Research release (/medarbejder/forskning), for biobank admins: research projects, eligibility checks of a pasted
// list, an uploaded file or a search, the stored answers with a CSV of the eligible labels, and the API keys of
// integrations. The eligibility service checks the role and biobank again on every call, and decides everything.
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import multer from 'multer'
import { z } from 'zod'
import type { Services } from '../../server/services/index.ts'
import { multipartCsrfValid } from '../../server/setUpCsrf.ts'
import { requireStaff, staffOf } from '../../server/auth/guards.ts'
import { HttpError } from '../../server/errorHandler.ts'
import { sampleCriteriaSchema, type SampleCriteria } from '../../server/domain/sampleCriteria.ts'
import { AVAILABILITY_CODES, MATERIAL_TYPE_CODES } from '../../server/domain/vocabulary.ts'
import { csvRow } from '../../server/services/exportService.ts'
import { apiClientNameSchema } from '../../server/services/apiClientService.ts'
import {
  CriteriaBiobankError,
  DUO_CODES,
  EmptyListError,
  LabelError,
  MAX_LABELS,
  ProjectNotFoundError,
  RESEARCH_PURPOSES,
  TooManyLabelsError,
  labelsFromText,
  projectInputSchema,
  type CheckSummary,
} from '../../server/services/eligibilityService.ts'

const BASE = '/medarbejder/forskning'
/** The largest file of labels taken on the web (a million labels of up to ~30 characters). */
export const MAX_LABEL_FILE_BYTES = 32 * 1024 * 1024
const CRITERIA_FIELDS = ['label', 'materialType', 'collectedFrom', 'collectedTo', 'availability'] as const

type Errors = Record<string, string>

const projectIdOf = (req: Request): number => {
  const raw = String(req.params.projectId ?? '')
  if (!/^[0-9]{1,15}$/.test(raw)) throw new HttpError(404, 'no such project')
  return Number(raw)
}

const megabytes = (bytes: number, lang: string) =>
  `${new Intl.NumberFormat(lang === 'da' ? 'da-DK' : 'en-GB', { maximumFractionDigits: 0 }).format(bytes / (1024 * 1024))} MB`

/** A label as an error message may quote it: shortened, so a pasted document does not fill the page. */
const quoted = (label: unknown) => {
  const text = typeof label === 'string' ? label : String(label)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

/** A file's labels: UTF-8 text, one per line or comma separated; a header line naming the column is skipped. */
function labelsOfFile(buffer: Buffer): string[] | 'encoding' {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer)
  } catch {
    return 'encoding'
  }
  const labels = labelsFromText(text)
  if (labels.length > 0 && /^(sample_label|label|etiket)$/i.test(labels[0]!)) labels.shift()
  return labels
}

export default function researchRoutes(services: Services): Router {
  const { eligibility, apiClients } = services
  const router = Router()
  router.use(BASE, requireStaff('biobank_admin'))

  const t = (res: Response) => res.locals.t

  // -------------------------------------------------------------------------------------------------------------
  // Projects

  router.get(BASE, async (req, res) => {
    res.render('pages/staff/research/index', { projects: await eligibility.listProjects(staffOf(req)) })
  })

  const renderProjectForm = (res: Response, status: number, values: Record<string, unknown>, errors: Errors) =>
    res.status(status).render('pages/staff/research/projectForm', { values, errors, purposes: RESEARCH_PURPOSES, duoCodes: DUO_CODES })

  router.get(`${BASE}/projekter/ny`, (req, res) => {
    staffOf(req)
    renderProjectForm(res, 200, {}, {})
  })

  router.post(`${BASE}/projekter`, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const values = { title: body.title, reference: body.reference, approvalId: body.approvalId, purpose: body.purpose, duoCode: body.duoCode }
    const parsed = projectInputSchema.safeParse(values)
    if (!parsed.success) {
      const errors: Errors = {}
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0])
        errors[field] ??= t(res)(`staffResearch.errors.${field}`)
      }
      return renderProjectForm(res, 400, values, errors)
    }
    const result = await eligibility.createProject(staffOf(req), parsed.data, String(req.id))
    if ('error' in result) return renderProjectForm(res, 400, values, { reference: t(res)('staffResearch.errors.referenceTaken') })
    res.redirect(303, `${BASE}/projekter/${result.project.id}`)
  })

  async function renderProject(req: Request, res: Response, status: number, errors: Errors = {}, values: Record<string, unknown> = {}) {
    const found = await eligibility.project(staffOf(req), projectIdOf(req))
    if (!found) throw new HttpError(404, 'no such project')
    res.status(status).render('pages/staff/research/project', { ...found, errors, values, maxFile: megabytes(MAX_LABEL_FILE_BYTES, req.lang) })
  }

  router.get(`${BASE}/projekter/:projectId`, async (req, res) => {
    await renderProject(req, res, 200)
  })

  /** Runs a check of a list of labels and shows the answer; a refused list is shown on the project page. */
  async function checkList(req: Request, res: Response, labels: string[], source: 'list' | 'file', field: 'labels' | 'file', values: Record<string, unknown>) {
    const user = staffOf(req)
    const projectId = projectIdOf(req)
    // 404 for no such project (another biobank's too), before anything is checked.
    if (!(await eligibility.project(user, projectId))) throw new HttpError(404, 'no such project')
    const fail = (message: string, status = 400) => renderProject(req, res, status, { [field]: message }, values)
    if (labels.length === 0) return fail(t(res)(field === 'file' ? 'staffResearch.errors.noFile' : 'staffResearch.errors.noLabels'))
    let summary: CheckSummary
    try {
      summary = await eligibility.checkLabels({ kind: 'staff', user }, projectId, labels, { source, requestId: String(req.id) })
    } catch (error) {
      if (error instanceof LabelError) {
        const key = error.reason === 'tooLong' ? 'labelTooLong' : 'labelInvalid'
        return fail(t(res)(`staffResearch.errors.${key}`, { label: quoted(error.label) }))
      }
      if (error instanceof TooManyLabelsError) return fail(t(res)('staffResearch.errors.tooManyLabels', { max: MAX_LABELS.toLocaleString(req.lang === 'da' ? 'da-DK' : 'en-GB') }), 413)
      if (error instanceof EmptyListError) return fail(t(res)('staffResearch.errors.noLabels'))
      if (error instanceof ProjectNotFoundError) throw new HttpError(404, 'no such project')
      throw error
    }
    res.redirect(303, `${BASE}/tjek/${summary.id}`)
  }

  router.post(`${BASE}/projekter/:projectId/tjek`, async (req, res) => {
    const text = typeof req.body?.labels === 'string' ? (req.body.labels as string) : ''
    await checkList(req, res, labelsFromText(text), 'list', 'labels', { labels: text })
  })

  /** Receives the file into memory (size-capped); refuses before reading it when the user may not release at all. */
  const receiveFile: RequestHandler = async (req, res, next) => {
    try {
      if (!(await eligibility.project(staffOf(req), projectIdOf(req)))) throw new HttpError(404, 'no such project')
    } catch (error) {
      return next(error)
    }
    const upload = multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: MAX_LABEL_FILE_BYTES, files: 1, fields: 5, parts: 6, fieldSize: 4096 },
    }).single('file')
    upload(req, res, (error: unknown) => {
      if (error instanceof multer.MulterError && error.code === 'LIMIT_FILE_SIZE') {
        // A forged request gets 403, not a form.
        if (!multipartCsrfValid(req)) return next(new HttpError(403, 'invalid csrf token'))
        renderProject(req, res, 413, { file: t(res)('staffResearch.errors.fileTooLarge', { max: megabytes(MAX_LABEL_FILE_BYTES, req.lang) }) }).catch(next)
        return
      }
      if (error instanceof multer.MulterError) return next(new HttpError(400, `upload refused: ${error.code}`))
      next(error)
    })
  }

  router.post(`${BASE}/projekter/:projectId/tjek/fil`, receiveFile, async (req: Request, res: Response) => {
    if (!multipartCsrfValid(req)) throw new HttpError(403, 'invalid csrf token')
    if (!req.file) return renderProject(req, res, 400, { file: t(res)('staffResearch.errors.noFile') })
    const labels = labelsOfFile(req.file.buffer)
    if (labels === 'encoding') return renderProject(req, res, 400, { file: t(res)('staffResearch.errors.fileEncoding') })
    await checkList(req, res, labels, 'file', 'file', {})
  })

  // -------------------------------------------------------------------------------------------------------------
  // A check of search criteria ("use these search criteria"): the search page may link here with its criteria.

  async function renderCriteria(req: Request, res: Response, status: number, values: Record<string, unknown>, errors: Errors) {
    const projects = await eligibility.listProjects(staffOf(req))
    res.status(status).render('pages/staff/research/criteria', { projects, values, errors, materialCodes: MATERIAL_TYPE_CODES, availabilityCodes: AVAILABILITY_CODES })
  }

  const criteriaValues = (source: Record<string, unknown>) => {
    const values: Record<string, unknown> = { project: source.project }
    for (const field of [...CRITERIA_FIELDS, 'biobank'] as const) if (typeof source[field] === 'string') values[field] = source[field]
    return values
  }

  router.get(`${BASE}/soegning`, async (req, res) => {
    await renderCriteria(req, res, 200, criteriaValues(req.query as Record<string, unknown>), {})
  })

  router.post(`${BASE}/soegning`, async (req, res) => {
    const values = criteriaValues((req.body ?? {}) as Record<string, unknown>)
    const errors: Errors = {}
    const project = z.string().regex(/^[0-9]{1,15}$/).safeParse(values.project)
    if (!project.success) errors.project = t(res)('staffResearch.errors.project')
    const { project: _project, ...criteriaInput } = values
    const criteria = sampleCriteriaSchema.safeParse(criteriaInput)
    if (!criteria.success) {
      for (const issue of criteria.error.issues) {
        const field = String(issue.path[0] ?? 'criteria')
        errors[field] ??= t(res)(`staffResearch.errors.${(CRITERIA_FIELDS as readonly string[]).includes(field) || field === 'biobank' ? field : 'criteria'}`)
      }
    }
    if (!project.success || !criteria.success) return renderCriteria(req, res, 400, values, errors)
    const user = staffOf(req)
    const projectId = Number(project.data)
    if (!(await eligibility.project(user, projectId))) return renderCriteria(req, res, 400, values, { project: t(res)('staffResearch.errors.project') })
    let summary: CheckSummary
    try {
      summary = await eligibility.checkSearch(user, projectId, criteria.data as SampleCriteria, String(req.id))
    } catch (error) {
      if (error instanceof CriteriaBiobankError) return renderCriteria(req, res, 400, values, { biobank: t(res)('staffResearch.errors.biobank') })
      if (error instanceof EmptyListError) return renderCriteria(req, res, 400, values, { criteria: t(res)('staffResearch.errors.noSamples') })
      throw error
    }
    res.redirect(303, `${BASE}/tjek/${summary.id}`)
  })

  // -------------------------------------------------------------------------------------------------------------
  // Stored answers

  router.get(`${BASE}/tjek/:checkId`, async (req, res) => {
    const check = await eligibility.check({ kind: 'staff', user: staffOf(req) }, String(req.params.checkId))
    if (!check) throw new HttpError(404, 'no such check')
    res.render('pages/staff/research/check', { check })
  })

  router.get(`${BASE}/tjek/:checkId/eligible.csv`, async (req: Request, res: Response, next: NextFunction) => {
    const found = await eligibility.eligibleLabels({ kind: 'staff', user: staffOf(req) }, String(req.params.checkId))
    if (!found) throw new HttpError(404, 'no such check')
    res.status(200)
    res.setHeader('Content-Type', 'text/csv; charset=utf-8; header=present')
    res.setHeader('Content-Disposition', `attachment; filename="eligible-${found.summary.project.reference.replace(/[^A-Za-z0-9._-]/g, '_')}-${found.summary.id.slice(0, 8)}.csv"`)
    res.setHeader('Cache-Control', 'no-store')
    const write = (text: string) => (res.write(text) ? Promise.resolve() : new Promise<void>((resolve) => res.once('drain', () => resolve())))
    try {
      await write(`\uFEFF${csvRow(['sample_label'])}`)
      for await (const batch of found.labels()) {
        if (res.destroyed) break
        await write(batch.map((label) => csvRow([label])).join(''))
      }
      res.end()
    } catch (error) {
      if (!res.headersSent) return next(error)
      req.log.error({ err: error }, 'eligible CSV failed while streaming')
      res.destroy()
    }
  })

  // -------------------------------------------------------------------------------------------------------------
  // API keys

  async function renderKeys(req: Request, res: Response, status: number, extra: Record<string, unknown> = {}) {
    const keys = await apiClients.list(staffOf(req))
    res.status(status).render('pages/staff/research/apiKeys', { keys, errors: {}, values: {}, newKey: undefined, revoked: req.query.spaerret === '1', ...extra })
  }

  router.get(`${BASE}/api-noegler`, async (req, res) => {
    await renderKeys(req, res, 200)
  })

  router.post(`${BASE}/api-noegler`, async (req, res) => {
    const name = apiClientNameSchema.safeParse(req.body?.name)
    if (!name.success) return renderKeys(req, res, 400, { errors: { name: t(res)('staffResearch.errors.name') }, values: { name: req.body?.name } })
    const issued = await apiClients.issue(staffOf(req), name.data, String(req.id))
    // Shown in this answer only: never redirected to, never cached.
    res.setHeader('Cache-Control', 'no-store')
    await renderKeys(req, res, 200, { newKey: { name: issued.client.name, key: issued.key } })
  })

  router.post(`${BASE}/api-noegler/:clientId/spaer`, async (req, res) => {
    const raw = String(req.params.clientId)
    const revoked = /^[0-9]{1,15}$/.test(raw) && (await apiClients.revoke(staffOf(req), Number(raw), String(req.id)))
    if (!revoked) throw new HttpError(404, 'no such active key')
    res.redirect(303, `${BASE}/api-noegler?spaerret=1`)
  })

  return router
}
