// Sessions in PostgreSQL; the cookie is httpOnly, SameSite=Lax and Secure in production. Idle and absolute
// time-outs are enforced here, per kind of user (citizens: 15 minutes idle by default).
import session from 'express-session'
import connectPgSimple from 'connect-pg-simple'
import { Router, type Request } from 'express'
import type { Services } from './services/index.ts'
import type { SessionUser } from './services/authService.ts'

declare module 'express-session' {
  interface SessionData {
    signedInAt?: number
    lastSeenAt?: number
    /** A parent acting for a child under 15; checked against custody on every request. */
    actingForDonorId?: number
  }
}

export const SESSION_COOKIE = 'biobank.sid'

export function setUpWebSession(services: Services): Router {
  const { config } = services
  const PgStore = connectPgSimple(session)
  const router = Router()
  router.use(
    session({
      name: SESSION_COOKIE,
      secret: config.secrets.session,
      store: new PgStore({
        pool: services.database.pool,
        tableName: 'sessions',
        ttl: config.auth.absoluteMinutes * 60,
        pruneSessionInterval: config.env === 'test' ? false : 15 * 60,
        // No UPDATE per request just to move the expiry: the once-a-minute lastSeenAt save below does that.
        disableTouch: true,
        errorLog: (...args: unknown[]) => services.logger.error({ err: args.find((a) => a instanceof Error) }, 'session store error'),
      }),
      resave: false,
      saveUninitialized: false,
      proxy: config.trustProxy > 0,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.production, path: '/' },
    }),
  )
  return router
}

/** Ends a signed-in session that was idle too long or is older than the absolute limit. */
export function setUpSessionTimeouts(services: Services): Router {
  const { auth } = services.config
  const router = Router()
  router.use((req: Request, res, next) => {
    const user = req.user as SessionUser | undefined
    if (!user || !req.session) return next()
    const now = Date.now()
    const idleLimit = auth.idleMinutes[user.kind] * 60_000
    const expired = now - (req.session.lastSeenAt ?? 0) > idleLimit || now - (req.session.signedInAt ?? 0) > auth.absoluteMinutes * 60_000
    if (expired) {
      return req.logout({ keepSessionInfo: false }, (error) => {
        if (error) return next(error)
        res.redirect(303, `/auth/udloebet?kind=${user.kind}`)
      })
    }
    // Touch at most once a minute: a write per page view buys nothing.
    if (now - (req.session.lastSeenAt ?? 0) > 60_000) req.session.lastSeenAt = now
    next()
  })
  return router
}
