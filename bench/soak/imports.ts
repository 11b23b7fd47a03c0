// The soak's imports: a staff user uploads a small CSV file through the web form every few seconds, as the web page
// does it (multipart POST /medarbejder/import with the session's CSRF token, mode "import"), and watches the job page
// until it says the file was imported. Each file has labels and storage positions of its own (so each adds rows);
// the rows of every file the page called imported are expected in the database afterwards.
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { writeImportCsv } from '../importScenario.ts'
import type { Recorder } from './recorder.ts'
import type { StaffSession } from './staffLogin.ts'

export interface ImportFile {
  runId: string
  rows: number
  /** What the job page said in the end: imported, or why not. */
  outcome: 'imported' | 'failed'
  reason?: string
  seconds: number
}

export interface ImportTally {
  files: ImportFile[]
}

export interface ImportLoopSettings {
  baseUrl: string
  session: StaffSession
  recorder: Recorder
  /** Seconds from the start of one upload to the start of the next (the next waits for the one before). */
  everySeconds: number
  rows: number
  /** Bulk donor numbers to take donors from (existing donors of the dataset). */
  donorIds: number[]
  scratchDir: string
  timeoutSeconds: number
  /** Part of every file's run id, so two soaks never make the same labels. */
  runPrefix: string
}

/** The labels of an imported file (as writeImportCsv makes them). */
export function labelsOf(file: Pick<ImportFile, 'runId' | 'rows'>): string[] {
  return Array.from({ length: file.rows }, (_, n) => `IMP-${file.runId}-${n}`)
}

type Timed = { status: number; body: string; location: string | null; ms: number } | { error: string }

async function timedFetch(recorder: Recorder, kind: 'import-upload' | 'import-status', url: string, init: RequestInit, timeoutSeconds: number): Promise<Timed> {
  const started = performance.now()
  try {
    const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutSeconds * 1000) })
    const body = await response.text()
    return { status: response.status, body, location: response.headers.get('location'), ms: performance.now() - started }
  } catch (error) {
    recorder.noAnswer(kind, `no answer (${error instanceof Error ? error.name : 'error'})`)
    return { error: error instanceof Error ? error.message : String(error) }
  }
}

/** The job page's state, from the alert it shows (views/pages/staff/import/job.ejs). */
function jobState(html: string): 'running' | 'imported' | 'other' {
  if (html.includes('class="alert alert-info"')) return 'running'
  if (html.includes('class="alert alert-success"') && !html.includes('class="alert alert-error"')) return 'imported'
  return 'other'
}

async function importOnce(settings: ImportLoopSettings, sequence: number): Promise<ImportFile> {
  const { baseUrl, session, recorder, timeoutSeconds } = settings
  const runId = `${settings.runPrefix}N${sequence}`
  const started = performance.now()
  const file = path.join(settings.scratchDir, `soak-import-${runId}.csv`)
  const donorBase = settings.donorIds[Math.floor(Math.random() * settings.donorIds.length)]!
  /** `counted`: the failure is already an error of one of the requests (not counted again against the file). */
  const done = (outcome: ImportFile['outcome'], reason?: string, counted = false): ImportFile => {
    const seconds = (performance.now() - started) / 1000
    if (!counted) recorder.answer('import-job', seconds * 1000, outcome === 'imported' ? undefined : reason)
    return { runId, rows: settings.rows, outcome, ...(reason ? { reason } : {}), seconds: Math.round(seconds * 1000) / 1000 }
  }
  try {
    await writeImportCsv(file, { rows: settings.rows, runId, donorBase })
    const form = new FormData()
    form.append('_csrf', session.csrfToken)
    form.append('mode', 'import')
    form.append('file', new Blob([await fs.promises.readFile(file)], { type: 'text/csv' }), `soak-${runId}.csv`)
    const upload = await timedFetch(recorder, 'import-upload', `${baseUrl}/medarbejder/import`, { method: 'POST', headers: { cookie: session.cookie }, body: form }, timeoutSeconds)
    if ('error' in upload) return done('failed', 'the upload got no answer', true)
    const jobPath = upload.status === 303 && upload.location?.startsWith('/medarbejder/import/') ? upload.location : undefined
    recorder.answer('import-upload', upload.ms, jobPath ? undefined : `status ${upload.status}${upload.location ? ` → ${upload.location.split('?')[0]}` : ''}`)
    if (!jobPath) return done('failed', `the upload was answered ${upload.status}`, true)

    const deadline = performance.now() + timeoutSeconds * 1000
    for (;;) {
      const page = await timedFetch(recorder, 'import-status', `${baseUrl}${jobPath}`, { headers: { cookie: session.cookie } }, timeoutSeconds)
      if ('error' in page) return done('failed', 'the job page got no answer', true)
      // A page that says the import failed answered correctly: the failure is the file's, counted below.
      recorder.answer('import-status', page.ms, page.status === 200 ? undefined : `status ${page.status}`)
      if (page.status !== 200) return done('failed', `the job page answered ${page.status}`, true)
      const state = jobState(page.body)
      if (state === 'imported') return done('imported')
      if (state === 'other') return done('failed', 'the job page says the import failed or was rejected')
      if (performance.now() > deadline) return done('failed', `not imported within ${timeoutSeconds} s`)
      await sleep(250)
    }
  } finally {
    await fs.promises.rm(file, { force: true })
  }
}

/**
 * Uploads a file every `everySeconds` until `shouldStop()`; the file in progress is always finished. Resolves when
 * the loop has ended.
 */
export async function runImportLoop(settings: ImportLoopSettings, tally: ImportTally, shouldStop: () => boolean): Promise<void> {
  let sequence = 0
  while (!shouldStop()) {
    const started = performance.now()
    try {
      tally.files.push(await importOnce(settings, ++sequence))
    } catch (error) {
      // A failure of the soak's own (writing the file): counted against the import, so it is not silently lost.
      const reason = `the soak could not run the import: ${error instanceof Error ? error.message : String(error)}`
      settings.recorder.answer('import-job', 0, reason)
      tally.files.push({ runId: `${settings.runPrefix}N${sequence}`, rows: settings.rows, outcome: 'failed', reason, seconds: 0 })
    }
    const wait = settings.everySeconds * 1000 - (performance.now() - started)
    // Wait in small steps, so the end of the soak does not wait for the interval.
    for (let left = wait; left > 0 && !shouldStop(); left -= 200) await sleep(Math.min(200, left))
  }
}
