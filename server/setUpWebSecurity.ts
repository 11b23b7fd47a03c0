// Security headers: a strict CSP (no inline script or style anywhere), no framing, HSTS in production.
import helmet from 'helmet'
import { Router, type RequestHandler } from 'express'
import type { Config } from './config.ts'

/** Pages of the signed-in areas hold personal data: no browser or proxy may keep a copy (ASVS V8.2.1). */
const noStoreForPersonalPages: RequestHandler = (req, res, next) => {
  if (/^\/(borger|medarbejder|auth)(\/|$)/.test(req.path)) res.setHeader('Cache-Control', 'no-store')
  next()
}

export function setUpWebSecurity(config: Config): Router {
  const router = Router()
  router.use(noStoreForPersonalPages)
  router.use(securityHeaders(config))
  return router
}

function securityHeaders(config: Config): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(config.production ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: config.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  })
}
