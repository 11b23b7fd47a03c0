// The real server as a child process (`node --import tsx server/index.ts`), for the fault tests: start it on a
// database, wait for /readyz, signal or kill it, read what it printed. Also a dedicated PostgreSQL cluster that a
// test may stop and start at will without disturbing the shared test cluster (test/support/testDatabase.ts).
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import pg from 'pg'
import { projectRoot } from '../../server/config.ts'
import { startEmbeddedPostgres, tryLoopbackPort, type EmbeddedPostgresHandle } from '../../server/db/embeddedPostgres.ts'
import { createSequelize } from '../../server/db/database.ts'
import { migrate } from '../../server/db/migrator.ts'
import { createServices } from '../../server/services/index.ts'
import { createLogger } from '../../server/logger.ts'
import { seedDemoData } from '../../seeders/index.ts'
import { TEST_DATA_DIR, testConfig } from './testDatabase.ts'
import { isAlive, livePostmaster } from './postmaster.ts'

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return (await tryLoopbackPort(0))!
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined/false; throws with `what` (and
 * the last error of the probe) after `timeoutMs`. For waiting on another process, never for asserting speed.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting ${timeoutMs} ms for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`)
    await sleep(intervalMs)
  }
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted right now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A child process running one of the app's entry points (the server, a command-line tool). */
export interface AppProcess {
  child: ChildProcess
  pid: number
  /** Everything the process wrote to stdout and stderr so far, interleaved. */
  output(): string
  stdout(): string
  stderr(): string
  /** Called with every chunk the process writes to stderr. */
  onStderr(listener: (text: string) => void): void
  /** Resolves when the process has exited. */
  exited: Promise<Exit>
  /** Whether the process is still running. */
  alive(): boolean
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
}

export interface ServerProcess extends AppProcess {
  port: number
  baseUrl: string
}

export interface StartServerOptions {
  databaseUrl: string
  /** Default: a free port. */
  port?: number
  /** More (or overriding) environment variables. */
  env?: Record<string, string>
  /** How long to wait for /readyz to answer 200 (default 60 s: tsx compiles the app on start). */
  readyTimeoutMs?: number
}

/**
 * The environment of a child process of the app (server or command line): development mode, the test data folder's
 * secrets (so CPR hashes match the demo data), the bundled OpenID provider, warnings and errors only.
 */
export function childEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    DATA_DIR: TEST_DATA_DIR,
    // Set (to empty, which means unset) so that a developer's .env cannot swap in other keys or providers.
    SESSION_SECRET: '',
    CPR_HMAC_KEY: '',
    CPR_ENCRYPTION_KEY: '',
    CITIZEN_OIDC_ISSUER: '',
    STAFF_OIDC_ISSUER: '',
    ...overrides,
  }
}

const running = new Set<ChildProcess>()
// A test run that ends abruptly must not leave servers or imports behind.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** Runs `node --import tsx <script> ...args` from the project root with `env` (see childEnvironment). */
export function spawnApp(script: string, args: string[], env: NodeJS.ProcessEnv): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  let stdout = ''
  let stderr = ''
  const listeners: ((text: string) => void)[] = []
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8')
    output += text
    stdout += text
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8')
    output += text
    stderr += text
    for (const listener of listeners) listener(text)
  })
  let hasExited = false
  const exited = new Promise<Exit>((resolve) => {
    // 'close', not 'exit': by then everything the process wrote has been read.
    child.once('close', (code, signal) => {
      hasExited = true
      running.delete(child)
      resolve({ code, signal })
    })
  })
  return {
    child,
    pid: child.pid!,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    onStderr: (listener) => listeners.push(listener),
    exited,
    alive: () => !hasExited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000) {
      if (hasExited) return exited
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const result = await exited
      clearTimeout(timer)
      return result
    },
  }
}

/** Starts `node --import tsx server/index.ts` on `databaseUrl` (see childEnvironment) and waits until /readyz answers 200. */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const port = options.port ?? (await freePort())
  const baseUrl = `http://127.0.0.1:${port}`
  const server: ServerProcess = {
    ...spawnApp(
      'server/index.ts',
      [],
      childEnvironment({
        PORT: String(port),
        HOST: '127.0.0.1',
        BASE_URL: baseUrl,
        DATABASE_URL: options.databaseUrl,
        SEED_DEMO_DATA: 'false',
        TRUST_PROXY: 'false',
        ...options.env,
      }),
    ),
    port,
    baseUrl,
  }
  const outcome = await waitFor(
    `the server on port ${port} to be ready`,
    async () => {
      if (!server.alive()) return 'exited'
      const response = await fetch(`${baseUrl}/readyz`).catch(() => undefined)
      return response?.status === 200 && 'ready'
    },
    options.readyTimeoutMs ?? 60_000,
    200,
  ).catch((error: unknown) => error as Error)
  if (outcome === 'ready') return server
  await server.stop('SIGKILL')
  throw new Error(`${outcome === 'exited' ? 'the server exited during start-up' : outcome.message}; server output:\n${server.output()}`)
}


// ---------------------------------------------------------------------------------------------------------------
// A dedicated cluster

export interface DedicatedCluster {
  port: number
  /** Connection string (as the superuser) of `database` on this cluster. */
  url(database?: string): string
  /** A fresh database with the schema and the demo data (copied from a template kept in this cluster). */
  createDatabase(): Promise<string>
  /** Fast shutdown (SIGINT to the postmaster): open transactions are rolled back, connections cut. */
  stop(): Promise<void>
  /** Starts the cluster again, on the same port. */
  start(): Promise<void>
  isRunning(): boolean
  /** Drops the databases made by createDatabase, then stops the cluster. */
  close(): Promise<void>
}

/** What the template depends on (as in testDatabase.ts): the migrations, the seeders and the CPR keys. */
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

/** Removes the cluster folder (and, as root, the folder under /var/lib its link points to). */
function wipe(dataDir: string): void {
  const local = path.join(dataDir, 'pg')
  try {
    if (fs.lstatSync(local).isSymbolicLink()) fs.rmSync(fs.readlinkSync(local), { recursive: true, force: true })
  } catch {
    // no cluster folder yet
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
}

/** A postmaster left running on this folder by an earlier run that died is stopped (fast shutdown). */
async function stopLeftover(dataDir: string): Promise<void> {
  const pgDir = path.join(dataDir, 'pg')
  const pidFile = path.join(pgDir, 'postmaster.pid')
  const pid = livePostmaster(pgDir)?.pid
  if (pid === undefined) return
  process.kill(pid, 'SIGINT')
  await waitFor(`the leftover postmaster ${pid} to stop`, async () => !fs.existsSync(pidFile) || !isAlive(pid), 30_000)
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'fault-tests' })
  client.on('error', () => undefined)
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * Starts a cluster of its own in `.data/<name>` on a free port. It is kept between runs (creating one takes
 * seconds); a cluster whose password was lost is made afresh. Never share `name` between test processes that may
 * run at the same time: each stops the cluster when it likes.
 */
export async function startDedicatedCluster(name: string): Promise<DedicatedCluster> {
  const dataDir = path.join(projectRoot, '.data', name)
  const passwordFile = path.join(dataDir, 'password')
  await stopLeftover(dataDir)
  if (!fs.existsSync(passwordFile)) {
    wipe(dataDir)
    fs.mkdirSync(dataDir, { recursive: true })
    fs.writeFileSync(passwordFile, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 })
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim()
  const port = await freePort()
  let handle: EmbeddedPostgresHandle | undefined
  const created: string[] = []

  const start = async () => {
    if (handle) return
    const started = await startEmbeddedPostgres({ dataDir, port, password, database: 'postgres' })
    if (started.reused) throw new Error(`the dedicated cluster in ${dataDir} was already running (another test process?)`)
    handle = started
  }
  const url = (database = 'postgres') => {
    const u = new URL(`postgres://postgres@127.0.0.1:${port}/${database}`)
    u.password = password
    return u.toString()
  }
  await start()

  let template: string | undefined
  async function ensureTemplate(): Promise<string> {
    testConfig() // makes sure the test data folder's secrets exist before they are fingerprinted
    const name = `faults_template_${templateFingerprint()}`
    const exists = await withClient(url(), async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1)
    if (exists) return name
    await withClient(url(), async (c) => {
      const { rows } = await c.query<{ datname: string }>("select datname from pg_database where datname like 'faults\\_%'")
      for (const { datname } of rows) await c.query(`drop database if exists ${c.escapeIdentifier(datname)} with (force)`)
      await c.query(`create database ${c.escapeIdentifier(`${name}_building`)}`)
    })
    const sequelize = createSequelize(url(`${name}_building`), 4)
    try {
      await migrate(sequelize)
      await seedDemoData(createServices(testConfig(), createLogger('silent'), sequelize))
    } finally {
      await sequelize.close()
    }
    await withClient(url(), (c) => c.query(`alter database ${c.escapeIdentifier(`${name}_building`)} rename to ${c.escapeIdentifier(name)}`))
    return name
  }

  async function stop() {
    const running = handle
    handle = undefined
    await running?.stop()
  }

  return {
    port,
    url,
    async createDatabase() {
      template ??= await ensureTemplate()
      const database = `faults_${process.pid}_${created.length + 1}`
      await withClient(url(), async (c) => {
        await c.query(`drop database if exists ${c.escapeIdentifier(database)} with (force)`)
        await c.query(`create database ${c.escapeIdentifier(database)} template ${c.escapeIdentifier(template!)}`)
      })
      created.push(database)
      return url(database)
    },
    stop,
    start,
    isRunning: () => handle !== undefined,
    async close() {
      if (handle) {
        await withClient(url(), async (c) => {
          for (const database of created.splice(0)) await c.query(`drop database if exists ${c.escapeIdentifier(database)} with (force)`)
        }).catch(() => undefined)
      }
      await stop()
    },
  }
}
