// The bench's own database: the embedded cluster of the bench data folder (never .data/pg), and in it a synthetic
// national dataset made by the bulk seeder. Its size is recorded in the table `bench_dataset`, so a second run of
// the same size reuses it; a different size (or data without a record: an interrupted run) starts from an empty
// database.
import pg from 'pg'
import type { Config } from '../server/config.ts'
import type { Logger } from '../server/logger.ts'
import { bootstrap, type Runtime } from '../server/bootstrap.ts'
import { locateDatabase, type DatabaseLocation } from '../server/db/database.ts'
import type { Services } from '../server/services/index.ts'
import { seedBulk, type BulkPhase, BULK_PHASE_NAMES } from '../seeders/bulk.ts'

export interface DatasetInfo {
  samples: number
  donors: number
  sampleEvents: number
  optOuts: number
  runId: string
  seededAt: string
  /** Seconds the seeding took (when it was made). */
  seedSeconds: number
  /** True when this run found the dataset and did not seed. */
  reused: boolean
}

/** The embedded cluster of one data folder and the owner's services on it; stoppable and startable again. */
export class BenchDatabase {
  private location: DatabaseLocation | undefined
  private runtime: Runtime | undefined
  /** True when the cluster was already running when the bench began (another process started it). */
  foundRunning = false
  /** The TCP port of the cluster. */
  port = 0

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  get services(): Services {
    if (!this.runtime) throw new Error('the bench database is not started')
    return this.runtime.services
  }

  /** Connection URL of the bench database as the owner (with the password; for child processes only). */
  get url(): string {
    if (!this.location) throw new Error('the bench database is not started')
    return this.location.url
  }

  get running(): boolean {
    return this.runtime !== undefined
  }

  /** Starts the cluster (unless it runs) and opens the owner's services, applying migrations. */
  async start(): Promise<void> {
    if (this.runtime) return
    // Right after a server process stopped the cluster, its port can still be held for a moment (a shutdown
    // checkpoint on a busy machine; CI once failed the cold start this way): retry a clash for up to 30 s.
    for (let attempt = 0; ; attempt++) {
      try {
        this.location = await locateDatabase(this.config, (message) => this.logger.info(message))
        break
      } catch (error) {
        if (attempt >= 60 || !/already in use/.test(String((error as Error).message))) throw error
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
    }
    this.foundRunning = (this.location as { reused?: boolean }).reused === true
    this.port = Number(new URL(this.location.url).port)
    // Finds the running cluster (its postmaster.pid), so stopping this runtime only closes its pool.
    this.runtime = await bootstrap(this.config, this.logger)
  }

  /** Closes the services and stops the cluster if this process started it. */
  async stop(): Promise<void> {
    const runtime = this.runtime
    const location = this.location
    this.runtime = undefined
    this.location = undefined
    await runtime?.shutdown()
    await location?.stop()
  }

  /** Drops the bench database and makes it again, migrated and empty. */
  async recreate(): Promise<void> {
    if (!this.location || !this.runtime) throw new Error('the bench database is not started')
    await this.runtime.shutdown()
    this.runtime = undefined
    const admin = new URL(this.location.url)
    admin.pathname = '/postgres'
    const client = new pg.Client({ connectionString: admin.toString() })
    await client.connect()
    try {
      await client.query(`drop database if exists ${client.escapeIdentifier(this.config.database.name)} with (force)`)
    } finally {
      await client.end()
    }
    // bootstrap → locateDatabase finds the running cluster, creates the database again and migrates it.
    this.runtime = await bootstrap(this.config, this.logger)
  }
}

const MARKER_TABLE = `create table if not exists bench_dataset (
  samples bigint not null,
  donors bigint not null,
  sample_events bigint not null,
  opt_outs bigint not null,
  run_id text not null,
  seed_seconds numeric not null,
  seeded_at timestamptz not null default now()
)`

interface MarkerRow {
  samples: number
  donors: number
  sample_events: number
  opt_outs: number
  run_id: string
  seed_seconds: string
  seeded_at: Date
}

async function readMarker(pool: pg.Pool): Promise<MarkerRow | undefined> {
  await pool.query(MARKER_TABLE)
  const { rows } = await pool.query<MarkerRow>('select * from bench_dataset order by seeded_at desc limit 1')
  return rows[0]
}

const toInfo = (row: MarkerRow, reused: boolean): DatasetInfo => ({
  samples: Number(row.samples),
  donors: Number(row.donors),
  sampleEvents: Number(row.sample_events),
  optOuts: Number(row.opt_outs),
  runId: row.run_id,
  seededAt: row.seeded_at.toISOString(),
  seedSeconds: Number(row.seed_seconds),
  reused,
})

/** Reuses the dataset of `samples` samples, or seeds it into an empty bench database. */
export async function ensureDataset(database: BenchDatabase, samples: number, options: { reseed: boolean; log: (message: string) => void }): Promise<DatasetInfo> {
  const { log } = options
  const marker = await readMarker(database.services.database.pool)
  if (marker && Number(marker.samples) === samples && !options.reseed) {
    log(`dataset: reusing ${samples.toLocaleString('en')} samples seeded ${marker.seeded_at.toISOString()}`)
    return toInfo(marker, true)
  }
  const { rows } = await database.services.database.pool.query<{ any: boolean }>('select exists (select 1 from samples) or exists (select 1 from donors) as any')
  if (marker || rows[0]!.any) {
    log(marker ? `dataset: has ${Number(marker.samples).toLocaleString('en')} samples, want ${samples.toLocaleString('en')}: starting from an empty database` : 'dataset: found data without a record of its size: starting from an empty database')
    await database.recreate()
  }

  log(`dataset: seeding ${samples.toLocaleString('en')} samples with the bulk seeder`)
  let lastLine = 0
  let lastPhase: BulkPhase | undefined
  const result = await seedBulk(database.services, {
    samples,
    onProgress: (p) => {
      const now = Date.now()
      if (p.phase !== lastPhase || now - lastLine > 10_000) {
        lastPhase = p.phase
        lastLine = now
        log(`dataset: ${BULK_PHASE_NAMES[p.phase]} ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')}`)
      }
    },
  })
  // Steady state, as a database in service would be: visibility map set (index-only scans), statistics fresh.
  const vacuumStarted = Date.now()
  log('dataset: vacuum analyze')
  await database.services.database.pool.query('vacuum (analyze) donors, samples, sample_events, opt_outs, opt_out_events')
  const seedSeconds = (result.milliseconds + (Date.now() - vacuumStarted)) / 1000
  log(`dataset: ${result.samples.toLocaleString('en')} samples, ${result.donors.toLocaleString('en')} donors in ${seedSeconds.toFixed(1)} s`)

  const pool = database.services.database.pool
  await pool.query(MARKER_TABLE)
  await pool.query('delete from bench_dataset')
  const { rows: inserted } = await pool.query<MarkerRow>(
    'insert into bench_dataset (samples, donors, sample_events, opt_outs, run_id, seed_seconds) values ($1, $2, $3, $4, $5, $6) returning *',
    [result.samples, result.donors, result.sampleEvents, result.optOuts, result.runId, seedSeconds],
  )
  return toInfo(inserted[0]!, false)
}

/** Distinct random donors that have samples, found by probing random ids (cheap at any size). */
export async function randomDonorsWithSamples(pool: pg.Pool, count: number): Promise<number[]> {
  const { rows } = await pool.query<{ min: number | null; max: number | null }>('select min(donor_id) as min, max(donor_id) as max from samples')
  const { min, max } = rows[0]!
  if (min === null || max === null) throw new Error('the bench database has no samples')
  const found = new Set<number>()
  for (let attempt = 0; attempt < 50 && found.size < count; attempt++) {
    const want = count - found.size
    const candidates = Array.from({ length: want * 2 + 10 }, () => Number(min) + Math.floor(Math.random() * (Number(max) - Number(min) + 1)))
    const { rows: hits } = await pool.query<{ id: number }>(
      'select d.id from donors d where d.id = any($1::bigint[]) and exists (select 1 from samples s where s.donor_id = d.id)',
      [candidates],
    )
    for (const { id } of hits) if (found.size < count) found.add(Number(id))
  }
  if (found.size < count) throw new Error(`found only ${found.size} of ${count} donors with samples`)
  return [...found]
}
