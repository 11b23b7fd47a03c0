// `npm run bench:smoke` end to end, so the benchmark code never rots: a few thousand samples in .data/bench-smoke
// (seeded once, then reused), every scenario against the real server as a child process, results JSON and report.
// Figures are not judged here (no timing assertions): only that every scenario ran and its checks held.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'chai'
import { scenarios } from '../../bench/registry.ts'
import type { BenchRun } from '../../bench/report.ts'
import { runScript, type ScriptRun } from '../support/runScript.ts'

describe('npm run bench:smoke', function () {
  // About half a minute on a quiet 2-core machine (seeding the first time adds a few seconds); more when it is busy.
  this.timeout(180_000)

  let outDir: string
  let outcome: ScriptRun
  let run: BenchRun
  let markdown: string

  before(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'))
    outcome = await runScript('bench/index.ts', ['--smoke', '--data-dir', '.data/bench-smoke', '--out', outDir], { NODE_ENV: 'development', DATABASE_URL: '' }, 170_000)
    const files = fs.readdirSync(outDir)
    const json = files.find((f) => f.endsWith('-smoke.json'))
    if (outcome.status !== 0 || !json) throw new Error(`bench:smoke exited ${outcome.status}, files ${files.join(', ')}:\n${outcome.stderr.slice(-4000)}`)
    run = JSON.parse(fs.readFileSync(path.join(outDir, json), 'utf8')) as BenchRun
    markdown = fs.readFileSync(path.join(outDir, json.replace(/\.json$/, '.md')), 'utf8')
  })

  after(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true })
  })

  it('completes, prints the table and records the machine and the dataset', () => {
    expect(outcome.status).to.equal(0)
    expect(outcome.stdout).to.match(/Scenario\s+Figure\s+Value\s+Floor/)
    expect(run.mode).to.equal('smoke')
    expect(run.dataset.samples).to.equal(5_000)
    expect(run.dataset.donors).to.be.greaterThan(0)
    expect(run.machine.cores).to.be.greaterThan(0)
    expect(run.machine.postgres).to.match(/^\d+/)
    expect(run.machine.postgresSettings.synchronous_commit).to.equal('on')
  })

  it('has every registered scenario, none crashed, and the built-in ones measured with their floor', () => {
    expect(run.scenarios.map((s) => s.id)).to.deep.equal(scenarios.map((s) => s.id))
    for (const s of run.scenarios) expect(s.error, `${s.id} crashed`).to.equal(undefined)
    for (const id of ['startup', 'citizen-samples', 'opt-out']) {
      const s = run.scenarios.find((r) => r.id === id)!
      expect(s.skipped, id).to.equal(undefined)
      expect(s.metrics.length, id).to.be.greaterThan(0)
      for (const m of s.metrics) expect(Number.isFinite(m.value), `${id} ${m.name}`).to.equal(true)
      expect(s.metrics.some((m) => m.floor !== undefined && m.ratio !== undefined), `${id} has a floor`).to.equal(true)
      expect(s.serverRssMaxMb, `${id} server RSS`).to.be.greaterThan(10)
    }
    for (const s of run.scenarios.filter((r) => !r.skipped)) expect(s.metrics.length, s.id).to.be.greaterThan(0)
  })

  it('leaves the dataset as seeded: the import scenario removes the samples it imported', () => {
    const imported = run.scenarios.find((s) => s.id === 'import')!
    const details = imported.details as { rows: number; removed?: number }
    expect(details.removed).to.equal(details.rows)
  })

  it('served the citizen page to the signed-in bench citizens, not a login redirect', () => {
    const citizen = run.scenarios.find((s) => s.id === 'citizen-samples')!
    const details = citizen.details as { server: { ok: number; requests: number; statusCodes: Record<string, number> } }
    expect(details.server.ok).to.be.greaterThan(0)
    expect(details.server.statusCodes).to.have.keys('200')
  })

  it('counted opt-out receipts, each with its row in the database, and no row without a receipt', () => {
    const optOut = run.scenarios.find((s) => s.id === 'opt-out')!
    const details = optOut.details as { receipts: number; rowsAdded: number; lost: number }
    expect(details.receipts).to.be.greaterThan(0)
    expect(details.lost).to.equal(0)
    expect(details.rowsAdded).to.equal(details.receipts)
  })

  it('writes the report with the results table and the query plans of the hot statements', () => {
    expect(markdown).to.contain('## Results')
    expect(markdown).to.contain('| Scenario | Figure | Value | Floor | Of floor | Target | Met |')
    expect(markdown).to.contain('citizenService.sampleRows')
    expect(markdown).to.contain('optOutService.change: the receipt event')
    expect(markdown).to.match(/Buffers: shared hit=\d+/)
    expect(run.explain?.length).to.be.greaterThan(5)
  })
})
