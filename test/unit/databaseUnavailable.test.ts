// Which errors mean "the database is out of reach right now" (503, the Danish explanation, Retry-After) and which
// stay what they are: a user's mistake must never turn into a 503. Also the configured limits on waiting for it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'chai'
import { z } from 'zod'
import {
  ConnectionAcquireTimeoutError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionTimedOutError,
  DatabaseError,
  UniqueConstraintError,
  ValidationError,
} from 'sequelize'
import { HttpError, isDatabaseUnavailable } from '../../server/errorHandler.ts'
import { QueryTimeoutError } from '../../server/db/boundedClient.ts'
import { ConfigError, loadConfig } from '../../server/config.ts'

/** An error as pg reports it: a message and, for server errors, the SQLSTATE in `code`. */
const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {})
/** What Sequelize's postgres dialect throws for a failed statement: the pg error wrapped as `parent`/`original`. */
const wrapped = (error: Error) => new DatabaseError(error as Error & { sql: string; parameters: object })

describe('database unavailable: which errors answer 503', () => {
  const unavailable: Record<string, unknown> = {
    'connection refused (pg)': pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    'connection refused (Sequelize)': new ConnectionRefusedError(pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')),
    'connection reset': pgError('read ECONNRESET', 'ECONNRESET'),
    'pg-pool: no free connection in time': new Error('timeout exceeded when trying to connect'),
    'pg-pool: connecting took too long': new Error('Connection terminated due to connection timeout'),
    'pg: connecting took too long': wrapped(new Error('timeout expired')),
    'Sequelize: connecting took too long': new ConnectionTimedOutError(new Error('Connection timed out')),
    'Sequelize: could not connect': new ConnectionError(new Error('timeout expired')),
    'Sequelize: no free connection in time': new ConnectionAcquireTimeoutError(new Error('TimeoutError: Operation timeout')),
    'a statement past its limit (pg pool)': new QueryTimeoutError(15_000),
    'a statement past its limit (Sequelize)': wrapped(new QueryTimeoutError(15_000)),
    "pg's own read timeout": wrapped(new Error('Query read timeout')),
    'the connection broke mid-statement': wrapped(new Error('Connection terminated unexpectedly')),
    'a statement on a connection already broken': wrapped(new Error('Client has encountered a connection error and is not queryable')),
    'the database shutting down': wrapped(pgError('terminating connection due to administrator command', '57P01')),
    'the database starting up': pgError('the database system is starting up', '57P03'),
    'a connection exception (class 08)': pgError('connection failure', '08006'),
  }
  for (const [what, error] of Object.entries(unavailable)) {
    it(`503 for ${what}`, () => expect(isDatabaseUnavailable(error)).to.equal(true))
  }

  const notUnavailable: Record<string, unknown> = {
    'a page that does not exist': new HttpError(404, 'no such sample'),
    'a refused action': new HttpError(403, 'not your biobank'),
    'bad input whose message happens to read like a timeout': new HttpError(400, 'Query read timeout'),
    'a CSRF refusal': Object.assign(new Error('invalid csrf token'), { status: 403, code: 'EBADCSRFTOKEN' }),
    'a body too large': Object.assign(new Error('request entity too large'), { status: 413, statusCode: 413, type: 'entity.too.large' }),
    'invalid input to a statement (22P02)': wrapped(pgError('invalid input syntax for type uuid: "x"', '22P02')),
    'a duplicate (23505)': new UniqueConstraintError({ message: 'Validation error' }),
    'a model validation': new ValidationError('label is required', []),
    'a zod parse error': (() => {
      try {
        z.object({ label: z.string() }).parse({})
      } catch (error) {
        return error
      }
    })(),
    // The sign-in provider being down is not the database (its own 503 comes from the auth routes).
    'a fetch to another service that was refused': Object.assign(new TypeError('fetch failed'), { cause: pgError('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED') }),
    'a programming error': new TypeError("Cannot read properties of undefined (reading 'id')"),
    'something thrown that is not an error': 'Connection terminated',
    'nothing at all': undefined,
  }
  for (const [what, error] of Object.entries(notUnavailable)) {
    it(`not 503 for ${what}`, () => expect(isDatabaseUnavailable(error)).to.equal(false))
  }
})

describe('configuration of the limits on waiting for the database', () => {
  let dataDir: string
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biobank-config-'))
  })
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const load = (environment: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, ...environment })

  it('bounds every wait by default, with a long limit for bulk work', () => {
    expect(load({}).database.timeouts).to.deep.equal({ connectMs: 5000, acquireMs: 10_000, queryMs: 15_000, bulkQueryMs: 3_600_000, readyMs: 2000, keepAliveMs: 10_000 })
  })

  it('takes every limit from the environment, 0 meaning no limit for statements', () => {
    const { timeouts } = load({
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      DATABASE_ACQUIRE_TIMEOUT_MS: '2500',
      DATABASE_QUERY_TIMEOUT_MS: '0',
      DATABASE_BULK_QUERY_TIMEOUT_MS: '0',
      DATABASE_READY_TIMEOUT_MS: '500',
      DATABASE_KEEPALIVE_MS: '30000',
    }).database
    expect(timeouts).to.deep.equal({ connectMs: 1500, acquireMs: 2500, queryMs: 0, bulkQueryMs: 0, readyMs: 500, keepAliveMs: 30_000 })
  })

  it('refuses a limit that is not a number of milliseconds, naming the variable', () => {
    for (const [name, value] of [
      ['DATABASE_QUERY_TIMEOUT_MS', '15s'],
      ['DATABASE_CONNECT_TIMEOUT_MS', '0'],
      ['DATABASE_READY_TIMEOUT_MS', '-1'],
    ] as const) {
      expect(() => load({ [name]: value }), name).to.throw(ConfigError, name)
    }
  })
})
