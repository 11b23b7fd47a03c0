// The two relying parties (citizens via the MitID broker, staff via the region's provider). Their strategies are
// built on first use from the issuer's discovery document, because the development provider is served by this
// very app and is not listening yet when the app is assembled.
import type { Passport } from 'passport'
import type { Request } from 'express'
import type { OidcClientConfig } from '../config.ts'
import type { Services } from '../services/index.ts'
import { createHardenedStrategy, discover, type DiscoveryDocument } from './oidcStrategy.ts'

export type AudienceKind = 'citizen' | 'staff'

interface Relying {
  discovery: DiscoveryDocument
}

export function createOidcLogin(services: Services, passport: InstanceType<typeof Passport>) {
  const { config } = services
  const clients: Record<AudienceKind, OidcClientConfig> = { citizen: config.auth.citizen, staff: config.auth.staff }
  const ready = new Map<AudienceKind, Promise<Relying>>()

  function strategyName(kind: AudienceKind) {
    return `oidc-${kind}`
  }

  async function build(kind: AudienceKind): Promise<Relying> {
    const client = clients[kind]
    const discovery = await discover(client.issuer)
    if (!discovery.code_challenge_methods_supported?.includes('S256')) services.logger.warn({ issuer: client.issuer }, 'issuer does not advertise PKCE S256')
    passport.use(
      strategyName(kind),
      createHardenedStrategy({
        name: kind,
        client,
        discovery,
        verify: async (req: Request, claims) => {
          const requestId = String(req.id ?? '')
          const result =
            kind === 'citizen'
              ? await services.auth.signInCitizen(claims, requestId)
              : await services.auth.signInStaff(claims, discovery.issuer, requestId)
          return 'reason' in result ? { user: false, reason: result.reason } : { user: result.user as Express.User }
        },
      }),
    )
    return { discovery }
  }

  /** The relying party of `kind`, discovering the issuer once (and again after a failure). */
  function relying(kind: AudienceKind): Promise<Relying> {
    let promise = ready.get(kind)
    if (!promise) {
      promise = build(kind)
      promise.catch(() => ready.delete(kind))
      ready.set(kind, promise)
    }
    return promise
  }

  return {
    strategyName,
    relying,
    /** Where to send the browser to end the provider's session too (RP-initiated logout), if it supports it. */
    async endSessionUrl(kind: AudienceKind, postLogoutRedirectUri: string): Promise<string | undefined> {
      const { discovery } = await relying(kind)
      if (!discovery.end_session_endpoint) return undefined
      const url = new URL(discovery.end_session_endpoint)
      url.searchParams.set('client_id', clients[kind].clientId)
      url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri)
      return url.toString()
    },
  }
}

export type OidcLogin = ReturnType<typeof createOidcLogin>
