// CSV import (/medarbejder/import): the upload form, the template, and the page of a running or finished import.
// The upload is multipart, so it is parsed here (to a temporary file on disk, size-limited) and its CSRF token is
// checked right after; the import itself runs as a background job of the import service.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Router, type Request, type RequestHandler, type Response } from 'express'
import type { TFunction } from 'i18next'
import multer from 'multer'
import { z } from 'zod'
import type { Services } from '../../server/services/index.ts'
import { multipartCsrfValid } from '../../server/setUpCsrf.ts'
import { staffOf } from '../../server/auth/guards.ts'
import { HttpError } from '../../server/errorHandler.ts'
import { issueMessage } from '../../server/services/import/messages.ts'
import { JOB_ID_PATTERN, type ImportJob } from '../../server/services/import/jobs.ts'
import { IMPORT_COLUMNS, REQUIRED_COLUMNS } from '../../server/services/import/format.ts'
import type { Language } from '../../server/setUpViews.ts'

/** Uploads wait here until their job has read them; the folder is private to this process's user. */
const uploadFolder = path.join(os.tmpdir(), 'biobank-registry-import')

const modeSchema = z.object({ mode: z.enum(['dry-run', 'import']) })

type FormError = 'noFile' | 'tooLarge'

const numberFormat = (lang: Language, options?: Intl.NumberFormatOptions) => new Intl.NumberFormat(lang === 'da' ? 'da-DK' : 'en-GB', options)

const megabytes = (bytes: number, lang: Language) => `${numberFormat(lang, { maximumFractionDigits: 1 }).format(bytes / (1024 * 1024))} MB`

export default function importRoutes(services: Services): Router {
  const router = Router()
  const { imports } = services

  async function renderForm(req: Request, res: Response, status: number, error?: FormError) {
    const scope = await imports.scopeOf(staffOf(req))
    res.status(status).render('pages/staff/import/upload', {
      biobankCode: scope.biobankCode,
      error,
      maxSize: megabytes(imports.limits.maxUploadBytes, req.lang),
      columns: IMPORT_COLUMNS,
      requiredColumns: REQUIRED_COLUMNS,
    })
  }

  router.get('/medarbejder/import', async (req, res) => {
    await renderForm(req, res, 200)
  })

  router.get('/medarbejder/import/skabelon.csv', (_req, res) => {
    res.type('text/csv; charset=utf-8')
    res.attachment('import-skabelon.csv')
    res.send(imports.templateCsv())
  })

  /** Receives the file to a temporary file; refuses before reading it when the user may not import at all. */
  const receive: RequestHandler = async (req, res, next) => {
    try {
      await imports.scopeOf(staffOf(req))
      await fs.promises.mkdir(uploadFolder, { recursive: true, mode: 0o700 })
    } catch (error) {
      next(error)
      return
    }
    const upload = multer({
      storage: multer.diskStorage({ destination: uploadFolder }),
      limits: { fileSize: imports.limits.maxUploadBytes, files: 1, fields: 10, parts: 12, fieldSize: 4096 },
      defParamCharset: 'utf8',
    }).single('file')
    upload(req, res, (error: unknown) => {
      if (error instanceof multer.MulterError && error.code === 'LIMIT_FILE_SIZE') {
        // Checked before the answer: a forged request gets 403, not a form.
        if (!multipartCsrfValid(req)) return next(new HttpError(403, 'invalid csrf token'))
        renderForm(req, res, 413, 'tooLarge').catch(next)
        return
      }
      if (error instanceof multer.MulterError) return next(new HttpError(400, `upload refused: ${error.code}`))
      next(error)
    })
  }

  router.post('/medarbejder/import', receive, async (req, res) => {
    const file = req.file
    try {
      if (!multipartCsrfValid(req)) throw new HttpError(403, 'invalid csrf token')
      const parsed = modeSchema.safeParse(req.body)
      if (!parsed.success) throw new HttpError(400, 'unknown import mode')
      if (!file) {
        await renderForm(req, res, 400, 'noFile')
        return
      }
      const job = await imports.startJob(staffOf(req), {
        path: file.path,
        fileName: file.originalname,
        dryRun: parsed.data.mode === 'dry-run',
        requestId: String(req.id),
      })
      res.redirect(303, `/medarbejder/import/${job.id}`)
    } catch (error) {
      // The job deletes the file when it ends; a request refused before that deletes it here.
      if (file) await fs.promises.rm(file.path, { force: true })
      throw error
    }
  })

  router.get('/medarbejder/import/:jobId', (req, res) => {
    const user = staffOf(req)
    const jobId = String(req.params.jobId)
    const job = JOB_ID_PATTERN.test(jobId) ? imports.job(user, jobId) : undefined
    if (!job) throw new HttpError(404, 'no such import job')
    res.render('pages/staff/import/job', jobView(job, req.lang, res.locals.t))
  })

  function jobView(job: ImportJob, lang: Language, t: TFunction) {
    const format = numberFormat(lang)
    const result = job.result
    const running = job.status === 'queued' || job.status === 'running'
    const issues = (result?.issues ?? []).map((issue) => ({ row: issue.row, column: issue.column, message: issueMessage(issue, t, lang) }))
    return {
      job,
      running,
      result,
      // While it runs, the page reloads itself (a meta refresh: no script) and has a link to do it by hand.
      refreshSeconds: running ? 2 : undefined,
      fileIssues: issues.filter((issue) => issue.row === null),
      rowIssues: issues.filter((issue) => issue.row !== null),
      n: (value: number) => format.format(value),
    }
  }

  return router
}
