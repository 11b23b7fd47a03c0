// Bench scenario: the CSV import at scale. Generates a file of N realistic rows (streamed to a temporary file, never
// held in memory), times a real import of it, and times a plain COPY of the same file into an index-free table
// (the floor no import can beat), then prints
//   {rows, importSeconds, importRowsPerSecond, copySeconds, copyRowsPerSecond, ratio}
// where ratio = import rate / COPY rate. Run: `npx tsx bench/importScenario.ts [--rows N] [--biobank RH]`; it uses a
// fresh copy of the test database (the demo data) and drops it afterwards. `runImportScenario` is the core, for
// `npm run bench`.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { from as copyFrom } from 'pg-copy-streams'
import type { Services } from '../server/services/index.ts'
import { IMPORT_COLUMNS } from '../server/services/import/format.ts'
import { bulkDonorCpr } from '../seeders/fictitiousCpr.ts'

const DAY_MS = 86_400_000

export interface GenerateOptions {
  rows: number
  /** Makes labels and storage positions unique to this file (letters and digits). */
  runId: string
  /** First bulk donor number (bulkDonorCpr); donors are numbered on from it, about one per four rows. */
  donorBase?: number
  delimiter?: ',' | ';'
}

export interface GeneratedFile {
  rows: number
  donors: number
  /** Rows with a parent earlier in the file. */
  children: number
}

const materials = ['whole-blood', 'serum', 'urine', 'saliva', 'tissue-frozen'] as const
const derivativeOf: Record<(typeof materials)[number], string> = {
  'whole-blood': 'dna',
  serum: 'serum',
  urine: 'urine',
  saliva: 'dna',
  'tissue-frozen': 'rna',
}

/**
 * Writes a valid import file: donors with 1–7 samples each, the first a primary sample, the others split from it
 * (same material: aliquot) or made from it (derivative), each stored at its own position.
 */
export async function writeImportCsv(file: string, options: GenerateOptions): Promise<GeneratedFile> {
  const { rows, runId } = options
  const delimiter = options.delimiter ?? ','
  const donorBase = options.donorBase ?? 20_000_000
  const now = Date.now()
  const out = fs.createWriteStream(file)
  const lines: string[] = [IMPORT_COLUMNS.join(delimiter)]
  let donors = 0
  let children = 0
  let written = 0
  const flush = async () => {
    if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain')
    lines.length = 0
  }
  while (written < rows) {
    const donor = donorBase + donors
    donors++
    const { cpr, birthDate } = bulkDonorCpr(donor)
    const size = Math.min(1 + (donor % 7), rows - written)
    const material = materials[donor % materials.length]!
    // Collected some day after birth and before yesterday, at a working hour.
    const from = Math.max(birthDate.getTime() + DAY_MS, Date.UTC(2005, 0, 1))
    const day = from + ((donor * 7919) % Math.max(1, Math.floor((now - 2 * DAY_MS - from) / DAY_MS))) * DAY_MS
    const collected = new Date(day + (8 + (donor % 8)) * 3_600_000).toISOString().slice(0, 16)
    const first = written
    for (let s = 0; s < size; s++) {
      const n = written
      written++
      const derivative = s > 0 && s % 3 === 0
      const kind = s === 0 ? material : derivative ? derivativeOf[material] : material
      if (s > 0) children++
      lines.push(
        [
          `IMP-${runId}-${n}`,
          n % 2 === 0 ? `${cpr.slice(0, 6)}-${cpr.slice(6)}` : cpr,
          kind,
          collected,
          kind === 'tissue-frozen' || kind === 'rna' ? '-60to-85' : '-18to-35',
          s === 0 ? '' : `IMP-${runId}-${first}`,
          n % 10 === 9 ? '' : `${1 + (n % 4)}.5`,
          n % 10 === 9 ? '' : kind === 'tissue-frozen' ? 'mg' : 'mL',
          `F${runId}/R${Math.floor(n / 10_000)}/K${Math.floor(n / 100) % 100}/P${n % 100}`,
          kind === 'serum' ? 'SER-SST-A-D-N-A-D' : kind === 'whole-blood' ? 'BLD-PED-A-N-N-N-D' : '',
          n % 5 === 0 ? 'DC509' : n % 5 === 1 ? 'E11.9' : '',
          n % 50 === 0 ? 'reserved' : '',
        ].join(delimiter),
      )
      if (lines.length >= 5_000) await flush()
    }
  }
  await flush()
  out.end()
  await once(out, 'finish')
  return { rows, donors, children }
}

export interface ScenarioResult {
  rows: number
  importSeconds: number
  importRowsPerSecond: number
  copySeconds: number
  copyRowsPerSecond: number
  /** Import rate against plain COPY rate (1 = as fast as COPY). */
  ratio: number
  /** Samples removed again afterwards (with `removeAfter`). */
  removed?: number
}

export interface ScenarioOptions {
  rows?: number
  biobankCode?: string
  /** Where the file is written (a temporary folder by default); it is deleted afterwards. */
  folder?: string
  /**
   * Also time a bare INSERT of the same rows into samples (no checks of ours, no parents, no events; rolled back):
   * what storing the rows costs at all, whatever an import does before. Reported through `log`.
   */
  insertFloor?: boolean
  /**
   * Remove the imported samples, their events and new donors afterwards, so a reused bench dataset stays as it was
   * seeded (otherwise every run adds a million samples, and the scenarios after it read a different dataset).
   */
  removeAfter?: boolean
  log?: (message: string) => void
}

/** Deletes what one run imported, as the owner; the append-only triggers are bypassed for this bench data only. */
async function removeImported(services: Services, runId: string, donorsBefore: number): Promise<number> {
  const client = await services.database.pool.connect()
  try {
    await client.query('begin')
    await client.query('set local session_replication_role = replica')
    const pattern = `IMP-${runId}-%`
    await client.query('delete from sample_events e using samples s where e.sample_id = s.id and s.label like $1', [pattern])
    const removed = await client.query('delete from samples where label like $1', [pattern])
    await client.query('delete from donors d where d.id > $1 and not exists (select from samples s where s.donor_id = d.id)', [donorsBefore])
    await client.query('commit')
    // All-visible again, so the index-only scans after this scenario measure what they would on the seeded data.
    await client.query('vacuum (analyze) samples, sample_events, donors')
    return removed.rowCount ?? 0
  } catch (error) {
    await client.query('rollback').catch(() => undefined)
    throw error
  } finally {
    client.release()
  }
}

/** Generates the file, times the import and the plain COPY, and returns the figures. */
export async function runImportScenario(services: Services, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const rows = options.rows ?? 1_000_000
  const log = options.log ?? (() => undefined)
  const folder = await fs.promises.mkdtemp(path.join(options.folder ?? os.tmpdir(), 'import-bench-'))
  const file = path.join(folder, 'samples.csv')
  const runId = Date.now().toString(36).toUpperCase()
  try {
    log(`generating ${rows} rows`)
    await writeImportCsv(file, { rows, runId, donorBase: 20_000_000 + (Date.now() % 1_000) * 10_000 })

    // The floor: the same bytes, COPY'd as CSV into a table without indexes or checks.
    log('plain COPY')
    const client = await services.database.pool.connect()
    let copySeconds: number
    try {
      await client.query(`drop table if exists import_bench_floor; create table import_bench_floor (${IMPORT_COLUMNS.map((c) => `${c} text`).join(', ')})`)
      const copyStarted = process.hrtime.bigint()
      await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), client.query(copyFrom('copy import_bench_floor from stdin with (format csv, header true)')))
      copySeconds = Number(process.hrtime.bigint() - copyStarted) / 1e9
      if (options.insertFloor) {
        await client.query('begin')
        try {
          const { rows: biobank } = await client.query<{ id: number }>('select id from biobanks where code = $1', [options.biobankCode ?? 'RH'])
          const insertStarted = process.hrtime.bigint()
          await client.query(
            `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature, quantity, quantity_unit,
                                  storage_location, sprec, availability)
             select $1, 'FLOOR-' || sample_label, (select min(id) from donors), material_type, collected_at::timestamptz, storage_temperature,
                    quantity::numeric, nullif(quantity_unit, ''), 'FLOOR' || storage_location, nullif(sprec, ''), coalesce(nullif(availability, ''), 'available')
             from import_bench_floor`,
            [biobank[0]!.id],
          )
          log(`bare INSERT of the same rows into samples: ${(Number(process.hrtime.bigint() - insertStarted) / 1e9).toFixed(3)} s`)
        } finally {
          await client.query('rollback')
        }
      }
      await client.query('drop table import_bench_floor')
    } finally {
      client.release()
    }

    const { rows: before } = await services.database.pool.query<{ max: string | null }>('select max(id) as max from donors')
    const donorsBefore = Number(before[0]?.max ?? 0)
    log('import')
    // The file streams through; the process's memory stays flat whatever its size (sampled for the log).
    let peakRss = process.memoryUsage().rss
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250)
    const importStarted = process.hrtime.bigint()
    const result = await services.imports
      .importFromCommandLine({ path: file, fileName: 'bench.csv', dryRun: false, biobankCode: options.biobankCode ?? 'RH', maxIssues: 10 })
      .finally(() => clearInterval(sampler))
    const importSeconds = Number(process.hrtime.bigint() - importStarted) / 1e9
    log(`peak resident memory during the import: ${Math.round(peakRss / 2 ** 20)} MiB (file: ${Math.round(fs.statSync(file).size / 2 ** 20)} MiB)`)
    if (!result.committed || result.newSamples !== rows) {
      throw new Error(`the import did not store the file: ${JSON.stringify({ ...result, issues: result.issues.slice(0, 10) })}`)
    }
    let removed: number | undefined
    if (options.removeAfter) {
      log('removing the imported rows again')
      removed = await removeImported(services, runId, donorsBefore)
    }
    const round = (value: number, digits = 3) => Number(value.toFixed(digits))
    return {
      rows,
      importSeconds: round(importSeconds),
      importRowsPerSecond: Math.round(rows / importSeconds),
      copySeconds: round(copySeconds),
      copyRowsPerSecond: Math.round(rows / copySeconds),
      ratio: round(copySeconds / importSeconds),
      ...(removed === undefined ? {} : { removed }),
    }
  } finally {
    await fs.promises.rm(folder, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, biobank: { type: 'string' }, 'insert-floor': { type: 'boolean' } }, strict: true })
  const rows = values.rows === undefined ? 1_000_000 : Number(values.rows.replace(/_/g, ''))
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error('--rows must be a positive whole number')
  // The test database support gives a fresh, disposable copy of the demo database.
  const { createTestDatabase, testConfig, dropTestDatabases, stopTestCluster } = await import('../test/support/testDatabase.ts')
  const { createSequelize } = await import('../server/db/database.ts')
  const { createLogger } = await import('../server/logger.ts')
  const { createServices } = await import('../server/services/index.ts')
  const url = await createTestDatabase()
  const sequelize = createSequelize(url, 4)
  const services = createServices(testConfig({ DATABASE_URL: url }), createLogger('silent'), sequelize)
  try {
    const result = await runImportScenario(services, {
      rows,
      biobankCode: values.biobank,
      insertFloor: values['insert-floor'],
      log: (message) => console.error(`[bench] ${message}`),
    })
    console.log(JSON.stringify(result))
  } finally {
    await services.database.close()
    await dropTestDatabases()
    await stopTestCluster()
  }
}

// No top-level await: the tests import this module, and a module with one cannot be loaded by require.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
