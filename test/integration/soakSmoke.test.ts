// `npm run soak -- --smoke` end to end, so the soak never rots: 5,000 samples in .data/soak-smoke (seeded once, then
// reused), the real server as a child process, a few seconds of the whole mix, the database checks and the report.
// Figures are not judged (no timing assertions): only that every part of the mix ran, nothing failed and the counts
// add up. The checks that count lost opt-outs and missing rows are also shown to find them when they are missing.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'chai'
import pg from 'pg'
import { QueryTypes } from 'sequelize'
import { createLogger } from '../../server/logger.ts'
import { createSequelize } from '../../server/db/database.ts'
import { createServices, type Services } from '../../server/services/index.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { markdown, type BenchRun } from '../../bench/report.ts'
import type { SoakRun } from '../../bench/soak/report.ts'
import { SOAK_END, SOAK_START, soakSectionOf, withSoakSection } from '../../bench/soak/section.ts'
import { checkImports, checkOptOuts, watermarks } from '../../bench/soak/verify.ts'
import type { OptOutCitizen } from '../../bench/soak/flows.ts'
import { createTestDatabase, testConfig } from '../support/testDatabase.ts'
import { runScript, type ScriptRun } from '../support/runScript.ts'

describe('npm run soak -- --smoke', function () {
  // About 40 s on a busy 2-core machine (seeding the first time adds a few seconds).
  this.timeout(180_000)

  let outDir: string
  let outcome: ScriptRun
  let run: SoakRun
  let report: string

  before(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-smoke-'))
    outcome = await runScript('bench/soak.ts', ['--smoke', '--data-dir', '.data/soak-smoke', '--out', outDir], { NODE_ENV: 'development', DATABASE_URL: '' }, 170_000)
    const files = fs.readdirSync(outDir)
    const json = files.find((f) => f.endsWith('-soak-smoke.json'))
    if (!json) throw new Error(`soak --smoke exited ${outcome.status} without its JSON (files: ${files.join(', ')}):\n${outcome.stderr.slice(-4000)}`)
    run = JSON.parse(fs.readFileSync(path.join(outDir, json), 'utf8')) as SoakRun
    report = fs.readFileSync(path.join(outDir, json.replace(/\.json$/, '.md')), 'utf8')
  })

  after(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true })
  })

  it('passes: exit 0, no error of any kind, no lost opt-out', () => {
    const failed = run.kinds.filter((k) => k.errors > 0).map((k) => `${k.kind}: ${JSON.stringify(k.errorReasons)}`)
    expect(failed, 'errors').to.deep.equal([])
    expect(run.verdict.errors).to.equal(0)
    expect(run.verdict.lostOptOuts).to.equal(0)
    expect(outcome.status, outcome.stderr.slice(-2000)).to.equal(0)
    expect(outcome.stdout).to.contain('verdict: passed')
    expect(run.server.exitedEarly).to.equal(null)
  })

  it('ran every part of the mix against the smoke dataset', () => {
    expect(run.mode).to.equal('smoke')
    expect(run.dataset.samples).to.equal(5_000)
    const requests = (kind: string) => run.kinds.find((k) => k.kind === kind)!.requests
    for (const kind of ['citizen-samples', 'opt-out-confirm', 'opt-out-change', 'opt-out-receipt', 'search-first', 'import-upload', 'import-status', 'import-job']) {
      expect(requests(kind), kind).to.be.greaterThan(0)
    }
    expect(run.settings.split.citizenViews + run.settings.split.optOut + run.settings.split.search + run.settings.split.imports).to.equal(run.settings.connections)
    expect(run.totals.requests).to.be.greaterThan(0)
  })

  it('counted the opt-out receipts and found each stored with its audit event, and nothing more', () => {
    const o = run.optOuts
    expect(o.receiptsSeen).to.be.greaterThan(0)
    expect(o.stored).to.equal(o.receiptsSeen)
    expect(o.audited).to.equal(o.receiptsSeen)
    // The drain waits for every change in flight, so the rows added are exactly the receipts (a repeated form adds none).
    expect(o.rowsAdded).to.equal(o.receiptsSeen)
    expect(o.citizensChecked).to.be.greaterThan(0)
    expect(o.finalStateMismatches).to.equal(0)
    expect(o.lost).to.equal(0)
  })

  it('imported files through the web form and found every row of them', () => {
    const i = run.imports
    expect(i.imported).to.be.greaterThan(0)
    expect(i.failed).to.equal(0)
    expect(i.rowsExpected).to.equal(i.imported * run.settings.importRows)
    expect(i.rowsStored).to.equal(i.rowsExpected)
    expect(i.rowsOfFailedFiles).to.equal(0)
  })

  it('recorded the server memory and the windows over time', () => {
    expect(run.rss.length).to.be.greaterThan(3)
    expect(run.memory.maxMb).to.be.greaterThan(10)
    expect(run.windows.length).to.be.greaterThan(1)
    const inWindows = run.windows.reduce((a, w) => a + w.requests, 0)
    // The windows cover the load; the drain after it answers the last few requests.
    expect(inWindows).to.be.greaterThan(0).and.at.most(run.totals.requests)
  })

  it('writes the "## Load soak" section between its markers, with the verdict and the counts', () => {
    expect(soakSectionOf(report)).to.equal(report)
    expect(report.startsWith(SOAK_START)).to.equal(true)
    expect(report.trimEnd().endsWith(SOAK_END)).to.equal(true)
    expect(report).to.contain('## Load soak')
    expect(report).to.contain('**Verdict: passed**')
    expect(report).to.contain(`| every opt-out change present afterwards | ${run.optOuts.receiptsSeen.toLocaleString('en')} receipts seen`)
    expect(report).to.contain('| From | Requests | Errors |')
  })
})

describe('the soak section of BENCHMARKS.md', () => {
  const section = (text: string) => `${SOAK_START}\n## Load soak\n\n${text}\n${SOAK_END}\n`

  it('is replaced in place by the soak, and placed before the query plans the first time', () => {
    const before = `# Benchmarks\n\n## Results\n\nfigures\n\n## Query plans (EXPLAIN)\n\nplans\n`
    const first = withSoakSection(before, section('first'))
    expect(first.indexOf('first')).to.be.lessThan(first.indexOf('## Query plans'))
    expect(first.indexOf('figures')).to.be.lessThan(first.indexOf('first'))
    const second = withSoakSection(first, section('second'))
    expect(second).to.contain('second')
    expect(second).not.to.contain('first')
    expect(second.split(SOAK_START)).to.have.length(2)
    expect(second).to.contain('plans')
  })

  it('is kept when `npm run bench` writes the report again', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-section-'))
    try {
      const previous = path.join(folder, 'BENCHMARKS.md')
      fs.writeFileSync(previous, `# Benchmarks\n\nold figures\n\n${section('kept soak')}`)
      const run = {
        mode: 'full',
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:10:00.000Z',
        command: 'npm run bench',
        machine: { cpuModel: 'cpu', cores: 2, ramGb: 4, os: 'os', node: 'v20', postgres: '18', postgresSettings: {}, loadAverageAtStart: [0, 0, 0], gitCommit: 'x' },
        dataset: { samples: 1000, donors: 100, sampleEvents: 1000, optOuts: 3, runId: '1', seededAt: '2026-01-01T00:00:00.000Z', seedSeconds: 1, reused: true, dataDir: '.data/bench' },
        settings: { connections: 1, durationSeconds: 1, warmupSeconds: 0, nodeEnv: 'development', databasePoolMax: 10 },
        scenarios: [],
        rss: { maxMb: 1, targetMb: 300, met: true },
        explain: [],
      } satisfies BenchRun
      const written = markdown(run, 'npm run bench', previous)
      expect(written).not.to.contain('old figures')
      expect(soakSectionOf(written)).to.equal(section('kept soak'))
      expect(markdown(run, 'npm run bench', path.join(folder, 'missing.md'))).not.to.contain(SOAK_START)
    } finally {
      fs.rmSync(folder, { recursive: true, force: true })
    }
  })
})

describe('the soak\'s database checks', () => {
  let services: Services
  let pool: pg.Pool

  before(async () => {
    const url = await createTestDatabase()
    services = createServices(testConfig({ DATABASE_URL: url }), createLogger('silent'), createSequelize(url, 2))
    pool = new pg.Pool({ connectionString: url, max: 2 })
  })

  after(async () => {
    await pool?.end()
    await services?.database.close()
  })

  it('find a receipt without its row or audit event, and a choice in force that is not the last receipt\'s', async () => {
    const [anne] = await services.database.sequelize.query<{ id: number }>('select id from donors where cpr_hmac = :hmac', {
      replacements: { hmac: services.cpr.hash(demoCitizen('anne').cpr) },
      type: QueryTypes.SELECT,
    })
    const donorId = Number(anne!.id)
    const { rows: before } = await pool.query<{ genetic: boolean }>('select genetic from opt_outs where donor_id = $1', [donorId])
    const optOut = !(before[0]?.genetic ?? false)
    const marks = await watermarks(pool)
    const subject = await services.citizen.resolveSubject({ kind: 'citizen', donorId, name: 'Anne Andersen', loa: 'Substantial' })
    if (subject === 'childNoLongerAvailable') throw new Error('anne is no child')
    const result = await services.optOuts.change({ kind: 'citizen', subject }, { choice: 'genetic', optOut, formToken: crypto.randomUUID() })
    if (result.outcome !== 'changed') throw new Error(`expected a change, got ${result.outcome}`)

    const citizen = (genetic: boolean, material: boolean): OptOutCitizen => ({
      sid: 'x',
      donorId,
      name: 'Anne',
      cookie: '',
      csrfToken: '',
      material,
      genetic,
      heldUntil: 0,
      retired: false,
    })
    const { rows: now } = await pool.query<{ material: boolean }>('select material from opt_outs where donor_id = $1', [donorId])
    const material = now[0]!.material
    const real = { reference: result.receipt.reference, donorId, choice: 'genetic' as const, optedOut: optOut }

    const good = await checkOptOuts(pool, marks, [real], [citizen(optOut, material)])
    expect(good).to.include({ receiptsSeen: 1, stored: 1, audited: 1, rowsAdded: 1, lost: 0, finalStateMismatches: 0 })

    const invented = { reference: 'VAR-2099-ZZZZZZ', donorId, choice: 'material' as const, optedOut: true }
    const bad = await checkOptOuts(pool, marks, [real, invented], [citizen(!optOut, material)])
    expect(bad).to.include({ receiptsSeen: 2, stored: 1, missingRows: 1, audited: 1, missingAudit: 1, finalStateMismatches: 1, lost: 3 })

    const wrongValue = await checkOptOuts(pool, marks, [{ ...real, optedOut: !optOut }], [citizen(optOut, material)])
    expect(wrongValue).to.include({ stored: 0, missingRows: 1 })
  })

  it('find the missing rows of a file said to be imported', async () => {
    const check = await checkImports(pool, 'RH', [
      { runId: 'NEVERIMPORTED1', rows: 3, outcome: 'imported', seconds: 1 },
      { runId: 'NEVERIMPORTED2', rows: 2, outcome: 'failed', reason: 'test', seconds: 1 },
    ])
    expect(check).to.include({ files: 2, imported: 1, failed: 1, rowsExpected: 3, rowsStored: 0, missingRows: 3, rowsOfFailedFiles: 0 })
  })
})
