// Web imports run in the background of this process: an in-memory registry of jobs, each owned by the staff user who
// uploaded the file, with its progress and, once done, its result. A job is kept for a while after it ends so the
// result page can be shown again; a restart forgets jobs (an unfinished import was rolled back with its connection).
import { randomBytes } from 'node:crypto'
import type { ImportPhase, ImportResult } from './run.ts'

export type JobStatus = 'queued' | 'running' | 'done' | 'failed'

export interface ImportJob {
  id: string
  ownerStaffUserId: number
  fileName: string
  dryRun: boolean
  status: JobStatus
  phase: ImportPhase
  rowsRead: number
  result?: ImportResult
  createdAt: Date
  finishedAt?: Date
}

export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/

export interface JobRegistryOptions {
  /** Jobs that run at once in this process; the rest wait their turn. */
  concurrency: number
  /** How long a finished job's result is kept. */
  keepMilliseconds: number
}

export function createJobRegistry(options: JobRegistryOptions) {
  const jobs = new Map<string, ImportJob>()
  const waiting: (() => void)[] = []
  let running = 0

  const forget = (id: string) => {
    const timer = setTimeout(() => jobs.delete(id), options.keepMilliseconds)
    timer.unref()
  }

  async function slot(): Promise<void> {
    if (running < options.concurrency) {
      running++
      return
    }
    await new Promise<void>((resolve) => waiting.push(resolve))
  }

  function release(): void {
    const next = waiting.shift()
    if (next) next()
    else running--
  }

  return {
    /**
     * Registers a job and starts `work` when a slot is free. `work` reports progress through the job it is given;
     * its result (or failure) is stored on the job. `onFailure` hears about unexpected errors (for the log).
     */
    start(
      owner: number,
      meta: { fileName: string; dryRun: boolean },
      work: (job: ImportJob) => Promise<ImportResult>,
      onFailure: (error: unknown) => void,
      cleanUp: () => Promise<void>,
    ): ImportJob {
      const job: ImportJob = {
        id: randomBytes(16).toString('hex'),
        ownerStaffUserId: owner,
        fileName: meta.fileName,
        dryRun: meta.dryRun,
        status: 'queued',
        phase: 'queued',
        rowsRead: 0,
        createdAt: new Date(),
      }
      jobs.set(job.id, job)
      void (async () => {
        await slot()
        let status: JobStatus = 'failed'
        try {
          job.status = 'running'
          job.result = await work(job)
          status = 'done'
        } catch (error) {
          onFailure(error)
        } finally {
          release()
          // The job ends once its file is gone.
          await cleanUp().catch(onFailure)
          job.finishedAt = new Date()
          job.phase = 'done'
          job.status = status
          forget(job.id)
        }
      })()
      return job
    },

    /** The job, if it exists and belongs to `owner`; anyone else's job is as good as missing. */
    get(owner: number, id: string): ImportJob | undefined {
      if (!JOB_ID_PATTERN.test(id)) return undefined
      const job = jobs.get(id)
      return job && job.ownerStaffUserId === owner ? job : undefined
    },

    /** Resolves when every job has ended (tests, shutdown). */
    async idle(): Promise<void> {
      while ([...jobs.values()].some((job) => job.status === 'queued' || job.status === 'running')) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
  }
}

export type JobRegistry = ReturnType<typeof createJobRegistry>
