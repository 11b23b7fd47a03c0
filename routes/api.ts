// The integration API (/api/v1): bearer keys, JSON in and out, no sessions, no CSRF, no cookies. Mounted in
// server/app.ts BEFORE the web body parsers, sessions and CSRF: it reads its own bodies, as streams.
//
//   POST /api/v1/eligibility           check labels for a project (JSON, NDJSON or text body, streamed both ways)
//   GET  /api/v1/eligibility/:checkId  the stored answer again
//   GET  /api/v1/openapi.json          the OpenAPI 3 description
//
// Limits: a body of at most API_MAX_BODY_BYTES, at most MAX_LABELS labels, two large checks at a time in this
// process (more get 503 with Retry-After), a rate limit per address (before the key is looked up, against key
// guessing) and per key.
import type { ServerResponse } from 'node:http'
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { rateLimit } from 'express-rate-limit'
import { z } from 'zod'
import type { Services } from '../server/services/index.ts'
import type { ApiClient } from '../server/services/apiClientService.ts'
import {
  EmptyListError,
  LabelError,
  MAX_LABELS,
  ProjectNotFoundError,
  TooManyLabelsError,
  labelSchema,
  projectRefSchema,
  type CheckSummary,
  type ProjectRef,
} from '../server/services/eligibilityService.ts'
import { API_MAX_BODY_BYTES, openApiDocument } from './api/openapi.ts'
import { BodyTooLargeError, EligibilityJsonParser, LineLabelParser, RequestShapeError, labelBatches } from './api/labelStream.ts'

/** Checks running at once in this process; each holds a database connection while its body arrives. */
const MAX_CONCURRENT_CHECKS = 2
/** A body that sends nothing for this long is dropped (its transaction is rolled back). */
const BODY_IDLE_MS = 30_000

type Detail = { path: (string | number)[]; message: string }

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Detail[],
  ) {
    super(message)
  }
}

function sendError(res: Response, status: number, error: string, details?: Detail[]): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.status(status).type('application/json').send(JSON.stringify(details ? { error, details } : { error }))
}

const clientOf = (res: Response) => res.locals.apiClient as ApiClient

/** Why a label was refused, in zod's words (the schema the OpenAPI document describes). */
function labelDetail(error: LabelError): Detail {
  const result = labelSchema.safeParse(error.label)
  const message = result.success ? 'invalid label' : result.error.issues[0]!.message
  return { path: ['labels', error.index], message }
}

function answerHead(summary: CheckSummary): string {
  const head = {
    checkId: summary.id,
    projectId: summary.project.id,
    registerVersion: summary.registerVersion,
    snapshot: summary.snapshot,
    createdAt: summary.createdAt.toISOString(),
    purpose: summary.purpose,
    requested: summary.requested,
    duplicates: summary.duplicates,
    requestedSha256: summary.requestedSha256,
    eligibleCount: summary.eligible,
    excluded: summary.excluded,
  }
  return `${JSON.stringify(head).slice(0, -1)},"eligible":[`
}

/** Streams a stored check as JSON: the counts first, then the eligible labels as they are read from the database. */
async function streamAnswer(services: Services, client: ApiClient, checkId: string, res: ServerResponse, status: number): Promise<boolean> {
  const found = await services.eligibility.eligibleLabels({ kind: 'apiClient', client }, checkId)
  if (!found) return false
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  if (status === 201) res.setHeader('Location', `/api/v1/eligibility/${checkId}`)
  const write = (text: string) => (res.write(text) ? Promise.resolve() : new Promise<void>((resolve) => res.once('drain', () => resolve())))
  await write(answerHead(found.summary))
  let first = true
  for await (const batch of found.labels()) {
    if (res.destroyed) break
    // Eligible labels are sample labels ([A-Za-z0-9._-]): quoting them is all JSON needs.
    await write(`${first ? '' : ','}"${batch.join('","')}"`)
    first = false
  }
  res.end(']}')
  return true
}

export default function apiRoutes(services: Services): Router {
  const router = Router()
  let running = 0

  router.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  const tooMany = (_req: Request, res: Response) => sendError(res, 429, 'too many requests')
  // Against key guessing: per address, before the key is looked up.
  const perAddress = rateLimit({ windowMs: 60_000, limit: 300, standardHeaders: 'draft-8', legacyHeaders: false, handler: tooMany })
  // The description needs no key, but is an API route like the others: limited per address too.
  router.get('/api/v1/openapi.json', perAddress, (_req, res) => {
    res.type('application/json').send(JSON.stringify(openApiDocument(services.config.baseUrl)))
  })
  // Per key: each check can be large.
  const perClient = rateLimit({
    windowMs: 60_000,
    limit: 120,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (_req, res) => `client:${clientOf(res).id}`,
    handler: tooMany,
  })

  const authenticate: RequestHandler = async (req, res, next) => {
    const header = req.get('authorization') ?? ''
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    const client = match ? await services.apiClients.authenticate(match[1]!) : null
    if (!client) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="biobank-registry"')
      return sendError(res, 401, match ? 'unknown or revoked API key' : 'an API key is required: Authorization: Bearer <key>')
    }
    res.locals.apiClient = client
    next()
  }

  router.post('/api/v1/eligibility', perAddress, authenticate, perClient, async (req: Request, res: Response, next: NextFunction) => {
    const client = clientOf(res)
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    const charset = /charset=([^;]+)/i.exec(req.get('content-type') ?? '')?.[1]?.trim().replace(/"/g, '').toLowerCase()
    let parser: EligibilityJsonParser | LineLabelParser
    let project: ProjectRef | (() => ProjectRef)
    try {
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw new ApiError(415, 'the body must be UTF-8')
      if (type === 'application/json') {
        const json = new EligibilityJsonParser()
        parser = json
        project = () => {
          const parsed = projectRefSchema.safeParse(json.project)
          if (!parsed.success) throw new RequestShapeError(parsed.error.issues[0]!.message, ['project'])
          return parsed.data
        }
      } else if (type === 'application/x-ndjson' || type === 'text/plain') {
        parser = new LineLabelParser(type === 'application/x-ndjson')
        const parsed = z.object({ project: projectRefSchema }).safeParse(req.query)
        if (!parsed.success) throw new ApiError(400, 'invalid request', parsed.error.issues.map((i) => ({ path: ['query', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: i.message })))
        project = parsed.data.project
      } else {
        throw new ApiError(415, 'send application/json, application/x-ndjson or text/plain')
      }
      if (Number(req.get('content-length') ?? 0) > API_MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${API_MAX_BODY_BYTES} bytes`)
      if (running >= MAX_CONCURRENT_CHECKS) {
        res.setHeader('Retry-After', '5')
        throw new ApiError(503, 'busy with other checks; try again shortly')
      }
    } catch (error) {
      if (error instanceof ApiError) {
        req.resume()
        return sendError(res, error.status, error.message, error.details)
      }
      return next(error)
    }

    running++
    // Reading stops at the first mistake without destroying the request (destroyOnReturn: false), so the answer
    // can still be sent.
    req.setTimeout(BODY_IDLE_MS, () => req.destroy(new Error('request body idle')))
    // Once the body is in, the check may take a while without a byte on the socket.
    req.once('end', () => req.socket?.setTimeout(0))
    try {
      const summary = await services.eligibility.checkLabels({ kind: 'apiClient', client }, project, labelBatches(req.iterator({ destroyOnReturn: false }), parser, API_MAX_BODY_BYTES), {
        source: 'api',
        requestId: String(req.id),
      })
      req.socket?.setTimeout(0)
      await streamAnswer(services, client, summary.id, res, 201)
    } catch (error) {
      req.socket?.setTimeout(0)
      // Whatever is left of the body is read and dropped, so the client sees the answer rather than a reset.
      if (!req.complete) {
        res.setHeader('Connection', 'close')
        req.resume()
      }
      if (error instanceof RequestShapeError) return sendError(res, 400, 'invalid request', [{ path: error.path, message: error.message }])
      if (error instanceof LabelError) return sendError(res, 400, 'invalid request', [labelDetail(error)])
      if (error instanceof EmptyListError) return sendError(res, 400, 'invalid request', [{ path: ['labels'], message: 'give at least one label' }])
      if (error instanceof TooManyLabelsError) return sendError(res, 413, `at most ${MAX_LABELS} labels in one request`)
      if (error instanceof BodyTooLargeError) return sendError(res, 413, `the body is larger than ${API_MAX_BODY_BYTES} bytes`)
      if (error instanceof ProjectNotFoundError) return sendError(res, 404, 'no such project for this API key', [{ path: ['project'], message: 'not a project of this biobank' }])
      if (res.headersSent) {
        req.log.error({ err: error }, 'eligibility answer failed while streaming')
        res.destroy()
        return
      }
      next(error)
    } finally {
      running--
    }
  })

  router.get('/api/v1/eligibility/:checkId', perAddress, authenticate, perClient, async (req: Request, res: Response) => {
    const shown = await streamAnswer(services, clientOf(res), String(req.params.checkId), res, 200)
    if (!shown) sendError(res, 404, 'no such check for this API key')
  })

  router.use('/api', (_req, res) => sendError(res, 404, 'not found'))
  router.use('/api', (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // A path parameter with broken percent-encoding (/eligibility/%E2) cannot name anything: not found, like any
    // unknown check, rather than an internal error.
    if (error instanceof URIError) return sendError(res, 404, 'not found')
    req.log.error({ err: error }, 'API request failed')
    sendError(res, 500, 'internal error')
  })
  return router
}
