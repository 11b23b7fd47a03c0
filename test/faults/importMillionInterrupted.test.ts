// Fault (issue 8), at full size: the database is stopped half way through a 1,000,000-row import by the command
// line (server/cli/import.ts). A file is all or nothing: afterwards not one of its samples (nor its donors) exists,
// and the same file then imports in full. Takes minutes: run with `npm run test:faults`.
//
// "Half way" is read from the import itself: its progress on stderr (`value/total` or `NN%`), or PostgreSQL's own
// COPY progress (pg_stat_progress_copy) when the import stages the file with COPY, whichever shows half first.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { Sequelize } from 'sequelize'
import { projectRoot } from '../../server/config.ts'
import { verifyAuditChain } from '../../server/services/auditVerifier.ts'
import { startDedicatedCluster, waitFor, type DedicatedCluster } from '../support/serverProcess.ts'
import { assertImportCliExists, countsOf, cprsIn, startImport, tail, writeImportFile, type ImportFile } from '../integration/faults/importFault.ts'

const ROWS = 1_000_000
const HALF = ROWS / 2
/** The longest an import of the whole file may take here before the test gives up. */
const IMPORT_LIMIT_MS = 20 * 60_000

/** The largest progress shown in `text`, as a fraction (the last `value/total` or `NN%` of each line). */
function progressShown(text: string): number {
  let best = 0
  for (const line of text.split(/[\r\n]+/)) {
    // eslint-disable-next-line no-control-regex
    const plain = line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    for (const m of plain.matchAll(/(\d[\d,._]*)\s*\/\s*(\d[\d,._]*)/g)) {
      const value = Number(m[1]!.replace(/[,._]/g, ''))
      const total = Number(m[2]!.replace(/[,._]/g, ''))
      // A total far from the file's size is something else (a date, a storage place).
      if (total >= ROWS * 0.5 && total <= ROWS * 1.5) best = Math.max(best, value / total)
    }
    for (const m of plain.matchAll(/(\d{1,3}(?:\.\d+)?)\s*%/g)) best = Math.max(best, Number(m[1]) / 100)
  }
  return best
}

describe('fault: the database stops half way through a 1,000,000-row import', function () {
  this.timeout(3 * IMPORT_LIMIT_MS)

  let cluster: DedicatedCluster
  let databaseUrl: string
  let file: ImportFile
  const folder = path.join(projectRoot, '.data', 'faults-import-million')

  before(async () => {
    assertImportCliExists()
    cluster = await startDedicatedCluster('faults-pg-long')
    databaseUrl = await cluster.createDatabase()
    file = await writeImportFile(path.join(folder, `million-${process.pid}.csv`), ROWS, `FLT1M-${process.pid}-`)
  })
  after(async () => {
    if (cluster && !cluster.isRunning()) await cluster.start().catch(() => undefined)
    await cluster?.close()
    fs.rmSync(folder, { recursive: true, force: true })
  })

  it('leaves not one sample or donor of the file, and the same file then imports in full', async () => {
    const before = await countsOf(databaseUrl, file)
    expect(before.ofFile).to.equal(0)

    const observer = new pg.Client({ connectionString: databaseUrl, application_name: 'fault-tests' })
    observer.on('error', () => undefined)
    await observer.connect()
    const database = new URL(databaseUrl).pathname.slice(1)
    const run = startImport(databaseUrl, file.path)
    let copied = 0
    const halfWay = await waitFor(
      'the import to be half way',
      async () => {
        if (!run.alive()) return 'ended'
        if (progressShown(run.stderr()) >= 0.5) return 'progress on stderr'
        const { rows } = await observer.query<{ tuples: number }>(
          'select coalesce(max(tuples_processed), 0)::bigint as tuples from pg_stat_progress_copy where datname = $1',
          [database],
        )
        copied = Math.max(copied, Number(rows[0]!.tuples))
        return copied >= HALF && 'pg_stat_progress_copy'
      },
      IMPORT_LIMIT_MS,
      100,
    ).catch((error: unknown) => error as Error)
    await observer.end()
    if (halfWay === 'ended' || halfWay instanceof Error) {
      await run.stop('SIGKILL')
      const why = halfWay === 'ended' ? `the import ended (${JSON.stringify(await run.exited)}) before it showed half way` : halfWay.message
      throw new Error(`${why}:\n${tail(run.output())}`)
    }

    await cluster.stop()
    console.log(`      stopped the database half way, seen on ${halfWay}${copied ? ` (${copied.toLocaleString('en')} rows copied)` : ''}`)
    const exit = await Promise.race([run.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 120_000))])
    if (exit === 'hung') await run.stop('SIGKILL')
    const stoppedAt = `stopped at: ${halfWay}${copied ? ` (${copied} rows copied)` : ''}`
    expect(exit, `the import must end by itself when its database goes away (${stoppedAt}):\n${tail(run.output())}`).to.not.equal('hung')
    expect((exit as { code: number | null }).code, `exit of the interrupted import (${stoppedAt}):\n${tail(run.output())}`).to.not.equal(0)
    expect(run.stdout(), 'no summary of an import that did not happen').to.not.match(/importeret|imported/i)
    expect(cprsIn(run.output(), file), 'CPR numbers printed by the interrupted import').to.deep.equal([])

    await cluster.start()
    const after = await countsOf(databaseUrl, file)
    expect(after, `the database after the interrupted import (${stoppedAt})`).to.deep.equal(before)

    const again = startImport(databaseUrl, file.path)
    const second = await Promise.race([again.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), IMPORT_LIMIT_MS))])
    if (second === 'hung') await again.stop('SIGKILL')
    expect(second, `the second import:\n${tail(again.output())}`).to.deep.equal({ code: 0, signal: null })
    const imported = await countsOf(databaseUrl, file)
    expect(imported.ofFile, 'samples of the file').to.equal(ROWS)
    expect(imported.samples).to.equal(before.samples + ROWS)
    expect(imported.donors, 'donors of the file (all new)').to.equal(before.donors + file.cprs.size)

    const sequelize = new Sequelize(databaseUrl, { dialect: 'postgres', logging: false, dialectOptions: { application_name: 'fault-tests' } })
    try {
      const verdict = await verifyAuditChain(sequelize)
      expect(verdict, JSON.stringify(verdict)).to.include({ ok: true })
    } finally {
      await sequelize.close()
    }
  })
})
