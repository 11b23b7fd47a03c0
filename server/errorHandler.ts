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

/** Errors that mean the database is out of reach: the citizen gets 503 and a Danish explanation, not a 500. */
/** Errors that mean "the database is out of reach right now", whatever layer (pg, Sequelize) reports them. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; parent?: { code?: string; message?: string } }
  const code = e.parent?.code ?? e.code
  const message = `${e.message ?? ''} ${e.parent?.message ?? ''}`
  return (
    e.name === 'SequelizeConnectionError' ||
    e.name === 'SequelizeConnectionRefusedError' ||
    e.name === 'SequelizeConnectionAcquireTimeoutError' ||
    e.name === 'SequelizeConnectionTimedOutError' ||
    e.name === 'SequelizeHostNotReachableError' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    (typeof code === 'string' && code.startsWith('08')) || // connection exception class
    code === '57P01' || // admin shutdown
    code === '57P03' || // cannot connect now
    /timeout exceeded when trying to connect|Connection terminated/.test(message)
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
