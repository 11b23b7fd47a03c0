// CSV import: streamed into a staging table by COPY, validated set-wise, inserted all-or-nothing.
// The pieces live in ./import/: format.ts (columns, template), stage.ts (file → COPY), rules.ts (validation),
// run.ts (the transaction), jobs.ts (background web imports), messages.ts (issue texts).
import fs from 'node:fs'
import type { ServiceDeps } from './serviceDeps.ts'
import type { SessionUser, StaffSessionUser } from './authService.ts'
import { assertStaffMay, ForbiddenError } from './authorization.ts'
import { templateCsv } from './import/format.ts'
import { runImport, type ImportProgress, type ImportResult } from './import/run.ts'
import { createJobRegistry, type ImportJob } from './import/jobs.ts'

export type { ImportResult, ImportProgress } from './import/run.ts'
export type { ImportJob } from './import/jobs.ts'
export type { ImportIssue } from './import/format.ts'

export interface ImportScope {
  biobankId: number
  biobankCode: string
}

export interface ImportFileInput {
  /** The file on disk (a web upload's temporary file, or the file named on the command line). */
  path: string
  /** The name the user knows the file by. */
  fileName: string
  dryRun: boolean
  /** Defaults to the user's own biobank; any other is refused. */
  biobankCode?: string
  requestId?: string
  maxIssues?: number
  onProgress?: (progress: ImportProgress) => void
}

export class UnknownBiobankError extends Error {}

const MiB = 1024 * 1024

export function createImportService(deps: ServiceDeps) {
  const { Biobank } = deps.database.models
  /** Adjustable (tests lower them). */
  const limits = {
    /** Largest upload accepted on the web (a million rows is about 110 MB). */
    maxUploadBytes: 512 * MiB,
    /** Issues kept for the result page (all are counted). */
    maxIssues: 5_000,
  }
  const jobs = createJobRegistry({ concurrency: 2, keepMilliseconds: 60 * 60 * 1000 })

  async function biobankByCode(code: string): Promise<ImportScope> {
    const biobank = await Biobank.findOne({ where: { code }, attributes: ['id', 'code'] })
    if (!biobank) throw new UnknownBiobankError(`no biobank ${code}`)
    return { biobankId: biobank.id, biobankCode: biobank.code }
  }

  /** The biobank `user` may import into: their own (or the one named, if they may register there). */
  async function scopeOf(user: SessionUser | undefined, biobankCode?: string): Promise<ImportScope> {
    if (user?.kind !== 'staff') throw new ForbiddenError('staff only')
    let scope: ImportScope
    if (biobankCode !== undefined && biobankCode !== user.biobankCode) scope = await biobankByCode(biobankCode)
    else if (user.biobankId !== null && user.biobankCode !== null) scope = { biobankId: user.biobankId, biobankCode: user.biobankCode }
    else throw new ForbiddenError(`${user.role} belongs to no biobank and may not import`)
    assertStaffMay(user, 'register', scope.biobankId)
    return scope
  }

  function importAs(user: StaffSessionUser, scope: ImportScope, input: ImportFileInput): Promise<ImportResult> {
    return runImport(deps, {
      path: input.path,
      fileName: input.fileName,
      biobankId: scope.biobankId,
      biobankCode: scope.biobankCode,
      dryRun: input.dryRun,
      actor: { kind: 'staff', staffUserId: user.staffUserId },
      via: 'web',
      requestId: input.requestId,
      maxIssues: input.maxIssues ?? limits.maxIssues,
      onProgress: input.onProgress,
    })
  }

  return {
    limits,

    /** Throws ForbiddenError unless `user` may import (registrar or admin, into their own biobank). */
    scopeOf,

    /** The downloadable template: the header and one example row. */
    templateCsv,

    /** Imports (or, with dryRun, only checks) a file for `user`, waiting for the result. */
    async importFile(user: StaffSessionUser, input: ImportFileInput): Promise<ImportResult> {
      const scope = await scopeOf(user, input.biobankCode)
      return importAs(user, scope, input)
    },

    /**
     * The command line (server/cli/import.ts): whoever can run it on the server already holds the database
     * credentials, so it acts as the system, into the biobank it names, and is audited as such.
     */
    async importFromCommandLine(input: ImportFileInput & { biobankCode: string }): Promise<ImportResult> {
      const scope = await biobankByCode(input.biobankCode)
      return runImport(deps, {
        path: input.path,
        fileName: input.fileName,
        biobankId: scope.biobankId,
        biobankCode: scope.biobankCode,
        dryRun: input.dryRun,
        actor: { kind: 'system' },
        via: 'cli',
        maxIssues: input.maxIssues ?? limits.maxIssues,
        onProgress: input.onProgress,
      })
    },

    /**
     * Starts a background import of an uploaded file for `user`; the file is deleted when the job ends. Returns the
     * job (its id is the address of the progress page). Refuses (ForbiddenError) before anything starts.
     */
    async startJob(user: StaffSessionUser, input: Omit<ImportFileInput, 'onProgress' | 'biobankCode'>): Promise<ImportJob> {
      const scope = await scopeOf(user)
      return jobs.start(
        user.staffUserId,
        { fileName: input.fileName, dryRun: input.dryRun },
        (job) =>
          importAs(user, scope, {
            ...input,
            onProgress: (progress) => {
              job.phase = progress.phase
              job.rowsRead = progress.rowsRead
            },
          }),
        (error) => deps.logger.error({ err: error }, 'import job failed'),
        () => fs.promises.rm(input.path, { force: true }),
      )
    },

    /** The job `jobId` of `user`; undefined when there is none or it is someone else's. */
    job(user: StaffSessionUser, jobId: string): ImportJob | undefined {
      return jobs.get(user.staffUserId, jobId)
    },

    /** Resolves when no import job is queued or running. */
    idle: () => jobs.idle(),
  }
}

export type ImportService = ReturnType<typeof createImportService>
