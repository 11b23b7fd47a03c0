// A real PostgreSQL for the tests: the embedded cluster in .data/test, a template database migrated and seeded
// once per change of the schema or demo data, and a fresh copy of it for each suite that asks.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { loadConfig, projectRoot, type Config } from '../../server/config.ts'
import { startEmbeddedPostgres, tryLoopbackPort, type EmbeddedPostgresHandle } from '../../server/db/embeddedPostgres.ts'
import { createSequelize } from '../../server/db/database.ts'
import { migrate } from '../../server/db/migrator.ts'
import { createServices } from '../../server/services/index.ts'
import { createLogger } from '../../server/logger.ts'
import { seedDemoData } from '../../seeders/index.ts'
import { isAlive } from './postmaster.ts'

export const TEST_DATA_DIR = '.data/test'
/** 54330, or (when another program holds it, e.g. a second checkout's tests) any free port. */
async function testPgPort(): Promise<number> {
  if (process.env.TEST_PG_PORT) return Number(process.env.TEST_PG_PORT)
  return (await tryLoopbackPort(54330)) ?? (await tryLoopbackPort(0))!
}

let cluster: EmbeddedPostgresHandle | undefined

// Several test processes may share the cluster (two terminals, the browser suite after the unit suite): each
// leaves a file named after its pid while it uses the cluster, and only the last one out stops it.
const USERS_DIR = path.join(projectRoot, TEST_DATA_DIR, 'users')
const ownUserFile = path.join(USERS_DIR, String(process.pid))

/** Other live processes using the cluster; files of processes that died are removed. */
function otherUsers(): number[] {
  if (!fs.existsSync(USERS_DIR)) return []
  return fs
    .readdirSync(USERS_DIR)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid)
    .filter((pid) => {
      if (isAlive(pid)) return true
      fs.rmSync(path.join(USERS_DIR, String(pid)), { force: true })
      return false
    })
}
let templateName: string | undefined
const created: string[] = []

/** Configuration for tests; the database URL is filled in per suite. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', DATA_DIR: TEST_DATA_DIR, LOG_LEVEL: 'silent', ...overrides })
}

function adminUrl(database = 'postgres'): string {
  const url = new URL(cluster!.url)
  url.pathname = `/${database}`
  return url.toString()
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** What the template depends on: a change to any migration or seeder builds a new one. */
function templateFingerprint(): string {
  const hash = crypto.createHash('sha256')
  for (const dir of ['migrations', 'seeders']) {
    for (const file of fs.readdirSync(path.join(projectRoot, dir)).sort()) {
      hash.update(file).update(fs.readFileSync(path.join(projectRoot, dir, file)))
    }
  }
  hash.update(fs.readFileSync(path.join(projectRoot, TEST_DATA_DIR, 'secrets.json')))
  return hash.digest('hex').slice(0, 12)
}

async function ensureTemplate(): Promise<string> {
  const config = testConfig()
  fs.mkdirSync(USERS_DIR, { recursive: true })
  fs.writeFileSync(ownUserFile, '')
  cluster ??= await startEmbeddedPostgres({ dataDir: config.dataDir, port: await testPgPort(), password: config.secrets.embeddedPostgresPassword, database: 'postgres' })
  const name = `biobank_template_${templateFingerprint()}`
  const exists = await admin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1)
  if (exists) return name
  // Old templates (from earlier schemas) and databases left by an interrupted run are dropped; never the
  // databases of another test process that is still running.
  const others = otherUsers()
  await admin(async (c) => {
    const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like 'biobank_template_%' or datname like 'biobank_test_%'")
    for (const { datname } of rows) {
      const owner = /^biobank_test_(\d+)_/.exec(datname)?.[1]
      if (owner ? others.includes(Number(owner)) : others.length > 0) continue
      await c.query(`drop database if exists ${c.escapeIdentifier(datname)} with (force)`)
    }
  })
  const building = `${name}_building`
  await admin((c) => c.query(`create database ${c.escapeIdentifier(building)}`))
  const sequelize = createSequelize(adminUrl(building), 4)
  try {
    await migrate(sequelize)
    await seedDemoData(createServices(testConfig(), createLogger('silent'), sequelize))
  } finally {
    await sequelize.close()
  }
  await admin((c) => c.query(`alter database ${c.escapeIdentifier(building)} rename to ${c.escapeIdentifier(name)}`))
  return name
}

/** A fresh database with the schema and the demo data, private to the caller. */
export async function createTestDatabase(): Promise<string> {
  templateName ??= await ensureTemplate()
  const name = `biobank_test_${process.pid}_${created.length + 1}`
  await admin((c) => c.query(`create database ${c.escapeIdentifier(name)} template ${c.escapeIdentifier(templateName!)}`))
  created.push(name)
  return adminUrl(name)
}

export async function dropTestDatabases(): Promise<void> {
  if (!cluster) return
  await admin(async (c) => {
    for (const name of created.splice(0)) await c.query(`drop database if exists ${c.escapeIdentifier(name)} with (force)`)
  })
}

/**
 * Stops the cluster if this process started it, and waits until it is down: the next test process (the browser
 * suite runs right after the unit suite) must not find a cluster that is just shutting down.
 */
export async function stopTestCluster(): Promise<void> {
  const running = cluster
  cluster = undefined
  templateName = undefined
  fs.rmSync(ownUserFile, { force: true })
  if (!running || otherUsers().length > 0) return
  if (!running.reused) return running.stop()
  // The last one out stops the cluster even when another process started it: a fast shutdown by signal.
  const pidFile = path.join(projectRoot, TEST_DATA_DIR, 'pg', 'postmaster.pid')
  const postmaster = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])
  if (!Number.isInteger(postmaster) || !isAlive(postmaster)) return
  process.kill(postmaster, 'SIGINT')
  for (let waited = 0; fs.existsSync(pidFile) && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100))
}

/** For tests that stop or inspect the cluster itself. */
export function testClusterUrl(database = 'postgres'): string {
  if (!cluster) throw new Error('the test cluster is not started yet')
  return adminUrl(database)
}
