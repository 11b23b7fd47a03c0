// Sign-in and sign-out for citizens (/auth/borger) and staff (/auth/medarbejder).
import { Router, type Request, type Response, type NextFunction } from 'express'
import { rateLimit } from 'express-rate-limit'
import type { Services } from '../server/services/index.ts'
import type { Authentication } from '../server/setUpAuthentication.ts'
import type { AudienceKind } from '../server/auth/oidcLogin.ts'
import { safeReturnTo, sessionUser } from '../server/auth/guards.ts'
import { HttpError } from '../server/errorHandler.ts'

const paths: Record<AudienceKind, string> = { citizen: 'borger', staff: 'medarbejder' }
export const startPage: Record<AudienceKind, string> = { citizen: '/borger', staff: '/medarbejder' }

/** Why a sign-in did not complete, as our own code; the page explains it, the log records it (never a token). */
const refusals = new Set(['loa', 'cpr', 'role', 'biobank'])

export default function authRoutes(services: Services, { passport, oidc }: Authentication): Router {
  const router = Router()
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: services.config.auth.rateLimitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new HttpError(429, 'too many sign-in attempts')),
  })

  for (const kind of ['citizen', 'staff'] as const) {
    router.get(`/auth/${paths[kind]}/login`, limiter, async (req: Request, res: Response, next: NextFunction) => {
      try {
        await oidc.relying(kind)
      } catch (error) {
        req.log.error({ reason: (error as Error).message, kind }, 'identity provider unavailable')
        return next(new HttpError(503, 'identity provider unavailable'))
      }
      // The redirect to the provider goes out only once the session (state, nonce, PKCE verifier) is stored: when
      // the database is down the citizen gets a 503 here, rather than a MitID sign-in that cannot come back.
      const end = res.end.bind(res) as (...args: unknown[]) => Response
      res.end = ((...args: unknown[]) => {
        req.session.save((error) => {
          res.end = end as typeof res.end
          try {
            if (!error || res.headersSent) return end(...args)
            res.removeHeader('Location')
            next(error)
          } catch (failure) {
            next(failure)
          }
        })
        return res
      }) as typeof res.end
      passport.authenticate(oidc.strategyName(kind), { returnTo: safeReturnTo(req.query.returnTo) } as object)(req, res, next)
    })

    router.get(`/auth/${paths[kind]}/callback`, limiter, async (req: Request, res: Response, next: NextFunction) => {
      try {
        await oidc.relying(kind)
      } catch (error) {
        return next(error)
      }
      passport.authenticate(oidc.strategyName(kind), (error: Error | null, user: Express.User | false, info?: { message?: string; state?: { returnTo?: string } }) => {
        if (error) {
          req.log.warn({ kind, reason: `${error.name}: ${error.message}` }, 'sign-in failed')
          return res.status(400).render('pages/auth/loginFailed', { kind, loginUrl: `/auth/${paths[kind]}/login` })
        }
        if (!user) {
          const reason = info?.message ?? 'unknown'
          req.log.warn({ kind, reason }, 'sign-in refused')
          if (refusals.has(reason)) {
            // The provider still holds the refused identity: offer to end that session and sign in as someone else.
            return oidc
              .endSessionUrl(kind, `${services.config.baseUrl}/auth/logget-ud`)
              .catch(() => undefined)
              .then((switchUserUrl) => res.status(403).render('pages/auth/refused', { kind, reason, switchUserUrl }))
          }
          return res.status(400).render('pages/auth/loginFailed', { kind, loginUrl: `/auth/${paths[kind]}/login` })
        }
        // passport regenerates the session here, so a session id planted before login is worthless after it.
        req.logIn(user, (loginError) => {
          if (loginError) return next(loginError)
          const now = Date.now()
          req.session.signedInAt = now
          req.session.lastSeenAt = now
          // Saved before the redirect: a browser that asks for the next page at once must find the stamps there,
          // or the idle check would send a brand-new session to the "expired" page.
          req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, safeReturnTo(info?.state?.returnTo) ?? startPage[kind])))
        })
      })(req, res, next)
    })
  }

  router.post('/auth/logout', async (req, res, next) => {
    const user = sessionUser(req)
    try {
      if (user) await services.auth.recordLogout(user, String(req.id))
      await new Promise<void>((resolve, reject) => req.logout((error) => (error ? reject(error) : resolve())))
      await new Promise<void>((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())))
      res.clearCookie('biobank.sid', { path: '/' })
      const back = `${services.config.baseUrl}/auth/logget-ud`
      const endSession = user ? await oidc.endSessionUrl(user.kind, back).catch(() => undefined) : undefined
      res.redirect(303, endSession ?? '/auth/logget-ud')
    } catch (error) {
      next(error)
    }
  })

  router.get('/auth/logget-ud', (_req, res) => res.render('pages/auth/loggedOut'))
  router.get('/auth/udloebet', (req, res) => res.render('pages/auth/expired', { kind: req.query.kind === 'staff' ? 'staff' : 'citizen', paths }))
  return router
}
