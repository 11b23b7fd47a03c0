// A pg client whose every statement has a deadline measured by the app itself. A database behind a cut network
// neither answers nor refuses: the kernel keeps the socket open, TCP keepalive stays silent while data is unacknowledged,
// and a server-side statement_timeout never gets a chance to answer. So the client counts: a statement that has not
// finished within its limit fails with QueryTimeoutError (code ETIMEDOUT) and the connection is destroyed, which makes
// both pools (pg-pool for sessions, Sequelize's for the domain) throw it away instead of handing it out again.
//
// The limit is per connection: the web app's short one by default; `allowLongQueries` raises it to the bulk limit for
// the connection's current holder (an import, an eligibility check), until the connection goes back to its pool.
// Submittables (COPY streams, cursors) run without the app's limit: they manage their own lifetime.
import pg from 'pg'
import type { Transaction } from 'sequelize'

export const QUERY_TIMEOUT_MESSAGE = 'Query read timeout'

/** A statement that did not finish within its limit; its connection has been destroyed. */
export class QueryTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(readonly timeoutMs: number) {
    // pg's own wording, which Sequelize recognises (it then never reuses the connection).
    super(QUERY_TIMEOUT_MESSAGE)
    this.name = 'QueryTimeoutError'
  }
}

export interface ClientLimits {
  /** Default limit of one statement, in ms; 0: none. */
  queryMs: number
  /** The limit after `allowLongQueries`, in ms; 0: none. */
  bulkQueryMs: number
  /** TCP keepalive idle time, in ms. */
  keepAliveMs: number
}

const LONG = Symbol('long query')

interface Bounded {
  limits: ClientLimits
  queryTimeoutMs: number
}

type ClientClass = new (config?: string | pg.ClientConfig) => pg.Client

const superQuery = pg.Client.prototype.query as unknown as (this: pg.Client, ...args: unknown[]) => unknown

function boundedQuery(this: pg.Client & Bounded, ...args: unknown[]): unknown {
  const first = args[0] as { submit?: unknown; callback?: unknown; [LONG]?: true } | null | undefined
  const ownLifetime = typeof first === 'object' && first !== null && (typeof first.submit === 'function' || typeof first.callback === 'function')
  const limit = typeof first === 'object' && first !== null && first[LONG] ? this.limits.bulkQueryMs : this.queryTimeoutMs
  if (!limit || ownLifetime) return superQuery.apply(this, args)

  const timer = setTimeout(() => {
    const stream = (this as unknown as { connection?: { stream?: { destroyed?: boolean; destroy(error: Error): void } } }).connection?.stream
    // Destroying the socket fails this statement and every one queued behind it, and marks the client unusable.
    if (stream && !stream.destroyed) stream.destroy(new QueryTimeoutError(limit))
  }, limit)
  const last = args.length - 1
  const callback = args[last]
  if (typeof callback === 'function') {
    args[last] = (error: unknown, result: unknown) => {
      clearTimeout(timer)
      ;(callback as (error: unknown, result: unknown) => void)(error, result)
    }
    return superQuery.apply(this, args)
  }
  try {
    const result = superQuery.apply(this, args)
    return result instanceof Promise ? result.finally(() => clearTimeout(timer)) : result
  } catch (error) {
    clearTimeout(timer)
    throw error
  }
}

/** A pg.Client class that enforces `limits` and keeps TCP keepalive on. */
export function boundedClientClass(limits: ClientLimits): ClientClass {
  class BoundedClient extends pg.Client implements Bounded {
    limits = limits
    queryTimeoutMs = limits.queryMs
    constructor(config?: string | pg.ClientConfig) {
      // A copy with every property as given: pg-pool hands over the password as a non-enumerable one.
      const own: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : Object.defineProperties({}, Object.getOwnPropertyDescriptors(config ?? {}))
      own.keepAlive ??= true
      own.keepAliveInitialDelayMillis ??= limits.keepAliveMs
      super(own)
      // A connection that breaks while nobody listens (checked out, between statements) must not take the process
      // down; its statements still fail, and the pools drop it.
      this.on('error', () => undefined)
    }
  }
  BoundedClient.prototype.query = boundedQuery as unknown as pg.Client['query']
  return BoundedClient
}

function isBounded(client: unknown): client is Bounded {
  return typeof client === 'object' && client !== null && typeof (client as Partial<Bounded>).queryTimeoutMs === 'number' && typeof (client as Partial<Bounded>).limits === 'object'
}

/** Back to the default limit: called whenever a pool hands the connection out. */
export function resetQueryTimeout(client: unknown): void {
  if (isBounded(client)) client.queryTimeoutMs = client.limits.queryMs
}

/**
 * Lets every statement of `holder` (a Sequelize transaction, or a pg client checked out of a pool) run up to the
 * bulk limit, until its connection goes back to the pool: for imports, eligibility checks and exports, whose single
 * statements may legitimately take minutes.
 */
export function allowLongQueries(holder: Transaction | pg.ClientBase): void {
  const client = holder instanceof pg.Client ? holder : (holder as unknown as { connection?: unknown }).connection
  if (isBounded(client)) client.queryTimeoutMs = client.limits.bulkQueryMs
}

/** A statement (for `pool.query` or `client.query`) that may run up to the bulk limit. */
export function longQuery<V extends unknown[] = unknown[]>(text: string, values?: V): pg.QueryConfig<V> {
  return { text, values, [LONG]: true } as pg.QueryConfig<V>
}

/** Runs `select 1` on `client` with its own short limit; for readiness probes. */
export async function probe(client: unknown, limitMs: number): Promise<void> {
  if (isBounded(client)) client.queryTimeoutMs = limitMs
  await (client as pg.ClientBase).query('select 1')
}
