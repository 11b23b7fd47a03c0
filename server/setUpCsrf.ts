// Synchroniser-token CSRF protection (csrf-sync) on every state-changing request; forms carry `_csrf`.
import { csrfSync } from 'csrf-sync'
import { Router, type Request } from 'express'

const { csrfSynchronisedProtection, generateToken } = csrfSync({
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
