// Synchroniser-token CSRF protection (csrf-sync) on every state-changing request; forms carry `_csrf`.
import crypto from 'node:crypto'
import { csrfSync } from 'csrf-sync'
import { Router, type Request } from 'express'

/**
 * Upload forms are multipart: their body (and `_csrf` in it) is parsed only inside the route, after multer has
 * streamed the file to disk. Those routes check the token themselves before they act; nothing else is skipped.
 */
const MULTIPART_ROUTES = [/^\/medarbejder\/import$/, /^\/medarbejder\/forskning\/projekter\/\d+\/tjek\/fil$/]

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  skipCsrfProtection: (req: Request) => req.method === 'POST' && Boolean(req.is('multipart/form-data')) && MULTIPART_ROUTES.some((route) => route.test(req.path)),
  getTokenFromRequest: (req: Request) => {
    const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf
    return typeof fromBody === 'string' ? fromBody : (req.headers['x-csrf-token'] as string | undefined)
  },
})

export function setUpCsrf(): Router {
  const router = Router()
  router.use(csrfSynchronisedProtection)
  router.use((req, res, next) => {
    // Only a session that exists gets a token: an anonymous visitor's GET must not create a session row.
    if (req.session && (req.user || req.session.csrfToken)) res.locals.csrfToken = generateToken(req)
    next()
  })
  return router
}

export { generateToken as csrfToken }

/**
 * For the upload routes the global check skips (MULTIPART_ROUTES): the `_csrf` field of the multipart body,
 * parsed by now, against the session's token, compared in constant time as csrf-sync does.
 */
export function multipartCsrfValid(req: Request): boolean {
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf
  const stored = (req.session as unknown as { csrfToken?: unknown } | undefined)?.csrfToken
  if (typeof sent !== 'string' || typeof stored !== 'string') return false
  const a = Buffer.from(sent)
  const b = Buffer.from(stored)
  return a.length === b.length && crypto.timingSafeEqual(a, b)
}
