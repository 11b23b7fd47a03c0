// Last stop for every request: 404 for unknown paths, a friendly page for errors, never a stack trace in production.
import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { Config } from './config.ts'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const UNAVAILABLE_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotReachableError',
  'SequelizeHostNotFoundError',
  'QueryTimeoutError',
])
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now
])
// What pg and pg-pool say when a connection could not be had or broke, when a statement outlived its limit
// (server/db/boundedClient.ts), or when a statement was given to a connection already broken.
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|^timeout expired$|Client has encountered a connection error and is not queryable|Connection timed out/

/**
 * Errors that mean "the database is out of reach right now" (refused, gone, or silent past its time limit), whatever
 * layer (pg, pg-pool, Sequelize) reports them: the citizen gets 503 and a Danish explanation, not a 500. An error
 * that carries a 4xx status is the user's and stays what it is.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const status = (error as { status?: unknown; statusCode?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode
  if (typeof status === 'number' && status < 500) return false
  type Layer = { name?: unknown; code?: unknown; message?: unknown; parent?: unknown; original?: unknown }
  const seen = new Set<unknown>()
  const layers: Layer[] = []
  // The error and what Sequelize wrapped in it (parent/original). Not `cause`: a failed fetch to the sign-in
  // provider wraps ECONNREFUSED too, and that is not the database.
  for (let next: unknown = error; typeof next === 'object' && next !== null && !seen.has(next) && layers.length < 5; ) {
    seen.add(next)
    const layer = next as Layer
    layers.push(layer)
    next = layer.parent ?? layer.original
  }
  return layers.some(
    ({ name, code, message }) =>
      (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) ||
      (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) || // 08: connection exception
      (typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message)),
  )
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  res.status(404).render('pages/notFound')
}

export function errorHandler(config: Config): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const unavailable = isDatabaseUnavailable(error)
    const status = unavailable ? 503 : Number((error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode ?? 500)
    const safeStatus = status >= 400 && status < 600 ? status : 500
    if (safeStatus >= 500) req.log?.error({ err: error }, 'request failed')
    else req.log?.warn({ status: safeStatus, reason: (error as Error).message }, 'request refused')
    if (res.headersSent) return
    res.status(safeStatus)
    if (unavailable) res.setHeader('Retry-After', '30')
    const view = unavailable ? 'pages/serviceUnavailable' : safeStatus === 404 ? 'pages/notFound' : 'pages/error'
    res.render(view, { status: safeStatus, stack: config.env === 'development' ? (error as Error).stack : undefined }, (renderError, html) => {
      // If even the error page cannot render, answer in plain text rather than leak a stack trace.
      if (renderError) res.type('text/plain').send(safeStatus === 503 ? 'Tjenesten er midlertidigt utilgængelig.' : 'Der opstod en fejl.')
      else res.send(html)
    })
  }
}
