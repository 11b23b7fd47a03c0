// Fault (issue 8): the database is stopped while the import command line is writing a file (20,000 rows; the
// million-row run of the same fault is in test/faults/, `npm run test:faults`). A file is all or nothing: afterwards
// not one of its samples (nor its donors) exists, and the same file then imports in full.
//
// The stop comes at a moment chosen without timing: the test holds a SHARE lock on the samples table, which lets
// the import read, stage, check and add donors, but makes its first write to samples wait. The cluster is stopped
// while it waits, with the file's donors written in the import's open transaction.
import fs from 'node:fs'
import path from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { Sequelize } from 'sequelize'
import { projectRoot } from '../../../server/config.ts'
import { verifyAuditChain } from '../../../server/services/auditVerifier.ts'
import { startDedicatedCluster, waitFor, type DedicatedCluster } from '../../support/serverProcess.ts'
import { assertImportCliExists, countsOf, cprsIn, startImport, tail, writeImportFile, type ImportFile } from './importFault.ts'

const ROWS = 20_000

describe('fault: the database stops while a 20,000-row import is writing', function () {
  this.timeout(300_000)

  let cluster: DedicatedCluster
  let databaseUrl: string
  let file: ImportFile
  const folder = path.join(projectRoot, '.data', 'faults-import')

  before(async () => {
    assertImportCliExists()
    cluster = await startDedicatedCluster('faults-pg')
    databaseUrl = await cluster.createDatabase()
    file = await writeImportFile(path.join(folder, `import-${process.pid}.csv`), ROWS, `FLT20K-${process.pid}-`)
  })
  after(async () => {
    if (cluster && !cluster.isRunning()) await cluster.start().catch(() => undefined)
    await cluster?.close()
    fs.rmSync(folder, { recursive: true, force: true })
  })

  it('leaves not one sample or donor of the file, and the same file then imports in full', async () => {
    const before = await countsOf(databaseUrl, file)
    expect(before.ofFile).to.equal(0)

    const holder = new pg.Client({ connectionString: databaseUrl, application_name: 'fault-tests' })
    holder.on('error', () => undefined) // the cluster's shutdown ends this connection
    await holder.connect()
    await holder.query('begin')
    await holder.query('lock table samples in share mode')

    const observer = new pg.Client({ connectionString: databaseUrl, application_name: 'fault-tests' })
    observer.on('error', () => undefined)
    await observer.connect()
    const run = startImport(databaseUrl, file.path)
    const holderPid = (holder as unknown as { processID: number }).processID
    const reached = await waitFor(
      'the import to write to the samples table',
      async () => {
        if (!run.alive()) return 'ended'
        const { rows } = await observer.query<{ n: number }>(
          `select count(*)::int as n from pg_locks l
           where not l.granted and l.database = (select oid from pg_database where datname = current_database())
             and l.relation = 'samples'::regclass and l.pid <> $1`,
          [holderPid],
        )
        return rows[0]!.n > 0 && 'waiting'
      },
      120_000,
      100,
    ).catch((error: unknown) => error as Error)
    if (reached !== 'waiting') {
      await run.stop('SIGKILL')
      const why = reached === 'ended' ? `the import ended (${JSON.stringify(await run.exited)}) before writing any sample` : reached.message
      throw new Error(`${why}:\n${tail(run.output())}`)
    }
    await observer.end()

    await cluster.stop()
    const exit = await Promise.race([run.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000))])
    if (exit === 'hung') await run.stop('SIGKILL')
    expect(exit, `the import must end by itself, and not with success, when its database goes away:\n${tail(run.output())}`).to.not.equal('hung')
    expect((exit as { code: number | null }).code, `exit of the interrupted import:\n${tail(run.output())}`).to.not.equal(0)
    expect(run.stdout(), 'no summary of an import that did not happen').to.not.match(/importeret|imported/i)
    expect(cprsIn(run.output(), file), 'CPR numbers printed by the interrupted import').to.deep.equal([])
    await holder.end().catch(() => undefined)

    await cluster.start()
    const after = await countsOf(databaseUrl, file)
    expect(after, 'the database after the interrupted import').to.deep.equal(before)

    const again = startImport(databaseUrl, file.path)
    const second = await again.exited
    expect(second.code, `the second import:\n${tail(again.output())}`).to.equal(0)
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
