// The import command line (server/cli/import.ts), run as a real child process against a test database: a good file is
// imported (and again, adding nothing), a bad one is refused with every issue on stderr and a non-zero exit, usage
// errors are explained.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'chai'
import { QueryTypes, type Sequelize } from 'sequelize'
import { createSequelize } from '../../server/db/database.ts'
import { IMPORT_COLUMNS } from '../../server/services/import/format.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { writeImportCsv } from '../../bench/importScenario.ts'
import { createTestDatabase, TEST_DATA_DIR } from '../support/testDatabase.ts'
import { runScript, type ScriptRun } from '../support/runScript.ts'

describe('import command line', function () {
  this.timeout(120_000)

  let databaseUrl: string
  let sequelize: Sequelize
  let folder: string

  const runCli = (...args: string[]): Promise<ScriptRun> =>
    runScript('server/cli/import.ts', args, { NODE_ENV: 'test', DATA_DIR: TEST_DATA_DIR, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, 100_000)

  const count = async () =>
    (await sequelize.query<{ samples: number; donors: number }>('select (select count(*)::int from samples) as samples, (select count(*)::int from donors) as donors', { type: QueryTypes.SELECT }))[0]!

  before(async () => {
    databaseUrl = await createTestDatabase()
    sequelize = createSequelize(databaseUrl, 2)
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'import-cli-test-'))
  })

  after(async () => {
    await sequelize?.close()
    if (folder) fs.rmSync(folder, { recursive: true, force: true })
  })

  it('imports a good file with exit 0, a progress bar on stderr and the summary on stdout; again adds nothing', async () => {
    const file = path.join(folder, 'good.csv')
    const generated = await writeImportCsv(file, { rows: 500, runId: 'CLI', donorBase: 32_000_000 })
    const before = await count()
    const first = await runCli('--biobank', 'RH', file)
    expect(first.status, first.stderr).to.equal(0)
    expect(first.stdout.trim()).to.equal(`500 nye prøver importeret i RH, 0 var allerede registreret (${generated.donors} nye donorer).`)
    expect(first.stderr).to.match(/\|\s*500\/500 rows/)
    expect(await count()).to.deep.equal({ samples: before.samples + 500, donors: before.donors + generated.donors })
    const [audit] = await sequelize.query<{ actor_kind: string; details: Record<string, unknown> }>(
      `select actor_kind, details from audit_events where action = 'import.run' order by id desc limit 1`,
      { type: QueryTypes.SELECT },
    )
    expect(audit).to.deep.include({ actor_kind: 'system' })
    expect(audit!.details).to.include({ via: 'cli', fileName: 'good.csv', newSamples: 500, outcome: 'imported' })

    const again = await runCli('--biobank', 'RH', file)
    expect(again.status, again.stderr).to.equal(0)
    expect(again.stdout.trim()).to.equal('0 nye prøver importeret i RH, 500 var allerede registreret (0 nye donorer).')
    expect(await count()).to.deep.equal({ samples: before.samples + 500, donors: before.donors + generated.donors })
  })

  it('refuses a bad file with a non-zero exit, every issue on stderr, nothing written and no CPR number shown', async () => {
    const anne = demoCitizen('anne').cpr
    const good = ['CLI-BAD-1', anne, 'whole-blood', '2025-06-01', '-60to-85', '', '4.5', 'mL', 'CLI/R1/B1/P1', '', '', '']
    const rows = [good, [...good.slice(0, 2), 'blod', ...good.slice(3)].map((v, i) => (i === 0 ? 'CLI-BAD-2' : i === 8 ? 'CLI/R1/B1/P2' : v)), ['CLI-BAD-3', '3102724518', ...good.slice(2, 8), 'CLI/R1/B1/P3', '', '', '']]
    const file = path.join(folder, 'bad.csv')
    fs.writeFileSync(file, `${IMPORT_COLUMNS.join(';')}\n${rows.map((r) => r.join(';')).join('\n')}\n`)
    const before = await count()
    for (const dryRun of [true, false]) {
      const run = await runCli('--biobank', 'RH', ...(dryRun ? ['--dry-run'] : []), file)
      expect(run.status, `dry run ${dryRun}`).to.equal(1)
      expect(run.stdout).to.equal('')
      expect(run.stderr).to.contain('Række 3, material_type: »blod« er ikke en materialetype, vi kender.')
      expect(run.stderr).to.contain('Række 4, donor_cpr: De første 6 cifre i CPR-nummeret er ikke en gyldig dato.')
      expect(run.stderr).to.contain('Filen blev afvist: 2 fejl i 2 rækker. Intet er gemt.')
      expect(run.stderr).not.to.contain(anne).and.not.to.contain('3102724518')
    }
    expect(await count()).to.deep.equal(before)

    const english = await runCli('--biobank', 'RH', '--dry-run', '--lang', 'en', file)
    expect(english.status).to.equal(1)
    expect(english.stderr).to.contain('Row 3, material_type: “blod” is not a material type we know.')
  })

  it('reports a file-level problem (not UTF-8) and checks a dry run of a good file with exit 0', async () => {
    const latin1 = path.join(folder, 'latin1.csv')
    fs.writeFileSync(latin1, Buffer.concat([Buffer.from(`${IMPORT_COLUMNS.join(',')}\n`), Buffer.from([0x52, 0xe6, 0x76, 0x0a])]))
    const refused = await runCli('--biobank', 'RH', latin1)
    expect(refused.status).to.equal(1)
    expect(refused.stderr).to.contain('Filen er ikke gemt som UTF-8 (første fejl i linje 2).')
    expect(refused.stderr).to.contain('Filen blev afvist. Intet er gemt.')

    const good = path.join(folder, 'dry.csv')
    await writeImportCsv(good, { rows: 20, runId: 'CLIDRY', donorBase: 32_100_000 })
    const before = await count()
    const dry = await runCli('--biobank', 'RH', '--dry-run', good)
    expect(dry.status, dry.stderr).to.equal(0)
    expect(dry.stdout.trim()).to.equal('Prøvekørsel uden fejl: 20 nye prøver, 0 er allerede registreret. Intet er gemt.')
    expect(await count()).to.deep.equal(before)
  })

  it('explains usage errors with exit 2', async () => {
    const file = path.join(folder, 'usage.csv')
    fs.writeFileSync(file, `${IMPORT_COLUMNS.join(',')}\n`)
    const cases: [string[], RegExp][] = [
      [[file], /--biobank must be a biobank code/],
      [['--biobank', 'RH'], /give exactly one CSV file/],
      [['--biobank', 'RH', path.join(folder, 'missing.csv')], /no such file/],
      [['--biobank', 'RH', '--lang', 'de', file], /--lang must be da or en/],
      [['--biobank', 'RH', '--bogus', file], /bogus/],
      [['--biobank', 'XX', file], /no biobank XX/],
    ]
    for (const [args, message] of cases) {
      const run = await runCli(...args)
      expect(run.status, args.join(' ')).to.equal(2)
      expect(run.stderr, args.join(' ')).to.match(message)
    }
  })
})
