// The one place that reads the environment. Everything else receives a validated Config.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { fileURLToPath } from 'node:url'
import dotenv from 'dotenv'
import { z } from 'zod'

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const port = z.coerce.number().int().min(0).max(65535)

/** A duration in milliseconds, at most a day. */
const milliseconds = z.coerce.number().int().min(0).max(86_400_000)

/** How long anything waits on the database unless configured otherwise (see DatabaseTimeouts). */
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  acquireMs: 10_000,
  queryMs: 15_000,
  bulkQueryMs: 3_600_000,
  readyMs: 2_000,
  keepAliveMs: 10_000,
}

/** 32 random bytes, given as 64 hex characters or base64. */
const key32 = z.string().transform((value, ctx) => {
  const buf = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64')
  if (buf.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, as 64 hex characters or base64' })
    return z.NEVER
  }
  return buf
})

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().min(1).optional(),
  BASE_URL: z.url().optional(),
  // How many reverse proxies stand in front of the app. `true` means one: trusting every X-Forwarded-For hop would
  // let a client forge its address and walk around the rate limits.
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|[0-9])$/, 'must be false, true (one proxy) or the number of proxies (0-9)')
    .transform((v) => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v)))
    .default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: z.url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  // Every wait on the database is bounded, so that a database that neither answers nor refuses (a cut network, a
  // hung host) makes pages answer 503 within seconds instead of hanging. For the two query limits, 0 means none.
  DATABASE_CONNECT_TIMEOUT_MS: milliseconds.min(100).default(DEFAULT_DATABASE_TIMEOUTS.connectMs),
  DATABASE_ACQUIRE_TIMEOUT_MS: milliseconds.min(100).default(DEFAULT_DATABASE_TIMEOUTS.acquireMs),
  DATABASE_QUERY_TIMEOUT_MS: milliseconds.default(DEFAULT_DATABASE_TIMEOUTS.queryMs),
  DATABASE_BULK_QUERY_TIMEOUT_MS: milliseconds.default(DEFAULT_DATABASE_TIMEOUTS.bulkQueryMs),
  DATABASE_READY_TIMEOUT_MS: milliseconds.min(100).default(DEFAULT_DATABASE_TIMEOUTS.readyMs),
  DATABASE_KEEPALIVE_MS: milliseconds.min(1_000).default(DEFAULT_DATABASE_TIMEOUTS.keepAliveMs),
  EMBEDDED_PG_PORT: port.default(54329),
  SEED_DEMO_DATA: bool.optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  CPR_HMAC_KEY: key32.optional(),
  CPR_ENCRYPTION_KEY: key32.optional(),
  SESSION_IDLE_MINUTES_CITIZEN: z.coerce.number().int().min(1).max(240).default(15),
  SESSION_IDLE_MINUTES_STAFF: z.coerce.number().int().min(1).max(480).default(30),
  SESSION_ABSOLUTE_MINUTES: z.coerce.number().int().min(5).max(1440).default(480),
  AUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(60),
  CITIZEN_OIDC_ISSUER: z.url().optional(),
  CITIZEN_OIDC_CLIENT_ID: z.string().min(1).optional(),
  CITIZEN_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  CITIZEN_OIDC_REDIRECT_URI: z.url().optional(),
  CITIZEN_OIDC_SCOPES: z.string().default('openid ssn mitid profile'),
  CITIZEN_CPR_CLAIM: z.string().min(1).default('dk.cpr'),
  CITIZEN_LOA_CLAIM: z.string().min(1).default('loa'),
  CITIZEN_MIN_LOA: z.enum(['Low', 'Substantial', 'High']).default('Substantial'),
  STAFF_OIDC_ISSUER: z.url().optional(),
  STAFF_OIDC_CLIENT_ID: z.string().min(1).optional(),
  STAFF_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  STAFF_OIDC_REDIRECT_URI: z.url().optional(),
  STAFF_OIDC_SCOPES: z.string().default('openid profile staff'),
  STAFF_ROLE_CLAIM: z.string().min(1).default('role'),
  STAFF_BIOBANK_CLAIM: z.string().min(1).default('biobank'),
})

export type Environment = 'development' | 'test' | 'production'
export type LevelOfAssurance = 'Low' | 'Substantial' | 'High'

export interface OidcClientConfig {
  issuer: string
  clientId: string
  clientSecret: string
  redirectUri: string
  scopes: string[]
}

export interface AuthConfig {
  /** True when no issuer is configured: the bundled development provider is mounted at /oidc and serves both. */
  useDevProvider: boolean
  citizen: OidcClientConfig & { cprClaim: string; loaClaim: string; minLoa: LevelOfAssurance }
  staff: OidcClientConfig & { roleClaim: string; biobankClaim: string }
  idleMinutes: { citizen: number; staff: number }
  absoluteMinutes: number
  rateLimitPerMinute: number
}

export interface Config {
  env: Environment
  production: boolean
  port: number
  host: string | undefined
  /** Public origin of the app, without trailing slash. */
  baseUrl: string
  /** Number of trusted reverse-proxy hops (0: none). */
  trustProxy: number
  logLevel: string
  /** Absolute path of the folder holding the embedded database and generated development secrets. */
  dataDir: string
  database: {
    /** External PostgreSQL; undefined means: start the embedded one. */
    url: string | undefined
    poolMax: number
    embeddedPort: number
    name: string
    timeouts: DatabaseTimeouts
  }
  seedDemoData: boolean
  auth: AuthConfig
  secrets: {
    session: string
    cprHmacKey: Buffer
    cprEncryptionKey: Buffer
    /** Password of the embedded cluster's superuser (development only). */
    embeddedPostgresPassword: string
  }
}

/** How long anything waits on the database, in milliseconds; 0 means no limit (see .env.example). */
export interface DatabaseTimeouts {
  /** Opening a connection (TCP, TLS, start-up and authentication). */
  connectMs: number
  /** Waiting for a free connection of a pool (includes opening one). */
  acquireMs: number
  /** One statement, from sending it to its last row, measured by the app (works when packets are dropped). */
  queryMs: number
  /** One statement of the bulk paths (imports, exports, eligibility checks, the operator's tools). */
  bulkQueryMs: number
  /** The /readyz probe, all included. */
  readyMs: number
  /** Idle time before TCP keepalive probes start on a database connection. */
  keepAliveMs: number
}

export class ConfigError extends Error {}

interface GeneratedSecrets {
  session: string
  cprHmacKey: string
  cprEncryptionKey: string
  embeddedPostgresPassword: string
}

/** Development secrets are generated once and kept in the data folder, so sessions and CPR hashes survive restarts. */
function loadOrCreateDevSecrets(dataDir: string): GeneratedSecrets {
  const file = path.join(dataDir, 'secrets.json')
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as GeneratedSecrets
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${file} is unreadable; delete it to generate new development secrets`)
  }
  const secrets: GeneratedSecrets = {
    session: crypto.randomBytes(32).toString('hex'),
    cprHmacKey: crypto.randomBytes(32).toString('hex'),
    cprEncryptionKey: crypto.randomBytes(32).toString('hex'),
    embeddedPostgresPassword: crypto.randomBytes(18).toString('base64url'),
  }
  fs.mkdirSync(dataDir, { recursive: true })
  // 'wx' so two processes starting at once cannot overwrite each other's keys.
  try {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(fs.readFileSync(file, 'utf8')) as GeneratedSecrets
    throw error
  }
  return secrets
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`DATABASE_URL=` in .env) means unset, not an invalid value.
  const given = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ''))
  const parsed = schema.safeParse(given)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  const production = e.NODE_ENV === 'production'
  const dataDir = path.resolve(projectRoot, e.DATA_DIR)

  if (production) {
    const missing = (['SESSION_SECRET', 'CPR_HMAC_KEY', 'CPR_ENCRYPTION_KEY', 'DATABASE_URL', 'BASE_URL'] as const).filter(
      (name) => e[name] === undefined,
    )
    if (missing.length > 0) throw new ConfigError(`Invalid configuration:\n${missing.map((m) => `  ${m}: required when NODE_ENV=production`).join('\n')}`)
  }
  const generated = production ? undefined : loadOrCreateDevSecrets(dataDir)
  const baseUrl = (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '')

  const useDevProvider = !e.CITIZEN_OIDC_ISSUER && !e.STAFF_OIDC_ISSUER
  if (useDevProvider && production) {
    throw new ConfigError('Invalid configuration:\n  CITIZEN_OIDC_ISSUER, STAFF_OIDC_ISSUER: required when NODE_ENV=production (the development provider never runs in production)')
  }
  if (!useDevProvider) {
    const names = (['CITIZEN', 'STAFF'] as const).flatMap((prefix) => (['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const).map((n) => `${prefix}_${n}` as const))
    const missing = names.filter((name) => !e[name])
    if (missing.length > 0) throw new ConfigError(`Invalid configuration:\n${missing.map((n) => `  ${n}: required once any issuer is configured`).join('\n')}`)
  }
  const client = (prefix: 'CITIZEN' | 'STAFF', path: string) => {
    const issuer = e[`${prefix}_OIDC_ISSUER`]
    const clientId = e[`${prefix}_OIDC_CLIENT_ID`]
    const clientSecret = e[`${prefix}_OIDC_CLIENT_SECRET`]
    return {
      issuer: issuer ?? `${baseUrl}/oidc`,
      clientId: clientId ?? `biobank-registry-${prefix.toLowerCase()}`,
      // The development provider's clients are local to this process; their secret need not be secret.
      clientSecret: clientSecret ?? `development-${prefix.toLowerCase()}-secret`,
      redirectUri: e[`${prefix}_OIDC_REDIRECT_URI`] ?? `${baseUrl}${path}`,
      scopes: e[`${prefix}_OIDC_SCOPES`].split(/\s+/).filter(Boolean),
    }
  }

  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    dataDir,
    database: {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      embeddedPort: e.EMBEDDED_PG_PORT,
      name: 'biobank',
      timeouts: {
        connectMs: e.DATABASE_CONNECT_TIMEOUT_MS,
        acquireMs: e.DATABASE_ACQUIRE_TIMEOUT_MS,
        queryMs: e.DATABASE_QUERY_TIMEOUT_MS,
        bulkQueryMs: e.DATABASE_BULK_QUERY_TIMEOUT_MS,
        readyMs: e.DATABASE_READY_TIMEOUT_MS,
        keepAliveMs: e.DATABASE_KEEPALIVE_MS,
      },
    },
    seedDemoData: !production && (e.SEED_DEMO_DATA ?? true),
    auth: {
      useDevProvider,
      citizen: { ...client('CITIZEN', '/auth/borger/callback'), cprClaim: e.CITIZEN_CPR_CLAIM, loaClaim: e.CITIZEN_LOA_CLAIM, minLoa: e.CITIZEN_MIN_LOA },
      staff: { ...client('STAFF', '/auth/medarbejder/callback'), roleClaim: e.STAFF_ROLE_CLAIM, biobankClaim: e.STAFF_BIOBANK_CLAIM },
      idleMinutes: { citizen: e.SESSION_IDLE_MINUTES_CITIZEN, staff: e.SESSION_IDLE_MINUTES_STAFF },
      absoluteMinutes: e.SESSION_ABSOLUTE_MINUTES,
      rateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    },
    secrets: {
      session: e.SESSION_SECRET ?? generated!.session,
      cprHmacKey: e.CPR_HMAC_KEY ?? Buffer.from(generated!.cprHmacKey, 'hex'),
      cprEncryptionKey: e.CPR_ENCRYPTION_KEY ?? Buffer.from(generated!.cprEncryptionKey, 'hex'),
      embeddedPostgresPassword: generated?.embeddedPostgresPassword ?? '',
    },
  }
}

/** Reads `.env` (when present) into the environment, then validates it. Used by the entry points only. */
export function loadConfigFromEnvironment(): Config {
  dotenv.config({ path: path.join(projectRoot, '.env'), quiet: true })
  return loadConfig(process.env)
}
