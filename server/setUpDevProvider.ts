// With no issuer configured (development, tests, demo) the bundled development OpenID provider answers at /oidc.
import crypto from 'node:crypto'
import { Router } from 'express'
import type { Config } from './config.ts'
import { createDevProvider } from './auth/devProvider.ts'

export function setUpDevProvider(config: Config): Router {
  const router = Router()
  if (!config.auth.useDevProvider) return router
  const { citizen, staff } = config.auth
  const cookieKey = crypto.createHmac('sha256', config.secrets.session).update('development OpenID provider cookies').digest('base64url')
  const provider = createDevProvider({
    issuer: `${config.baseUrl}/oidc`,
    production: config.production,
    cookieKeys: [cookieKey],
    clients: [
      { audience: 'citizen', clientId: citizen.clientId, clientSecret: citizen.clientSecret, redirectUris: [citizen.redirectUri], postLogoutRedirectUris: [`${config.baseUrl}/auth/logget-ud`], tokenEndpointAuthMethod: 'client_secret_post' },
      { audience: 'staff', clientId: staff.clientId, clientSecret: staff.clientSecret, redirectUris: [staff.redirectUri], postLogoutRedirectUris: [`${config.baseUrl}/auth/logget-ud`], tokenEndpointAuthMethod: 'client_secret_post' },
    ],
  }).then((p) => p.router)
  provider.catch(() => undefined) // reported on first request instead of as an unhandled rejection
  router.use('/oidc', (req, res, next) => {
    provider.then((handle) => handle(req, res, next), next)
  })
  return router
}
