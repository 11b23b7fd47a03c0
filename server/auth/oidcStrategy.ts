// passport-openidconnect, hardened: endpoints from discovery, PKCE S256, and the ID token's signature verified
// against the issuer's JWKS with jose (the library itself only decodes the token).
import crypto from 'node:crypto'
import type { Request } from 'express'
import type {} from 'express-session'
import { Strategy as OpenIdStrategy, type VerifyCallback } from 'passport-openidconnect'
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { OidcClientConfig } from '../config.ts'

export interface DiscoveryDocument {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
  userinfo_endpoint?: string
  end_session_endpoint?: string
  code_challenge_methods_supported?: string[]
}

export async function discover(issuer: string, fetchImpl: typeof fetch = fetch): Promise<DiscoveryDocument> {
  const response = await fetchImpl(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })
  if (!response.ok) throw new Error(`OpenID discovery for ${issuer} answered ${response.status}`)
  const document = (await response.json()) as DiscoveryDocument
  // The discovery document must describe the issuer we were configured with (OIDC Discovery § 4.3).
  if (document.issuer !== issuer) throw new Error(`OpenID discovery for ${issuer} names another issuer: ${document.issuer}`)
  for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof document[field] !== 'string') throw new Error(`OpenID discovery for ${issuer} lacks ${field}`)
  }
  return document
}

export interface VerifiedIdToken {
  claims: JWTPayload & Record<string, unknown>
}

/** Verifies signature (JWKS), issuer, audience, expiry and nonce. Throws on any mismatch. */
export async function verifyIdToken(idToken: string, keys: JWTVerifyGetKey, expected: { issuer: string; audience: string; nonce: string | undefined }) {
  const { payload } = await jwtVerify(idToken, keys, {
    issuer: expected.issuer,
    audience: expected.audience,
    algorithms: ['RS256', 'PS256', 'ES256'],
    requiredClaims: ['exp', 'iat', 'sub'],
    clockTolerance: 30,
  })
  if (expected.nonce === undefined || payload.nonce !== expected.nonce) throw new Error('ID token nonce does not match the authorization request')
  return { claims: payload as JWTPayload & Record<string, unknown> }
}

const base64url = (buffer: Buffer) => buffer.toString('base64url')

interface PkceState {
  codeVerifier: string
  returnTo?: string
}

/** Handed from the state store to the token request within one synchronous call chain of the library. */
interface PendingExchange {
  codeVerifier: string
  nonce: string | undefined
}

type RequestWithExchange = Request & { oidcExchange?: PendingExchange }

type SessionRecord = Record<string, { state?: { handle: string; nonce?: string; state?: PkceState } } | undefined>

/**
 * A session state store that remembers the PKCE verifier and nonce next to the `state` handle. It consumes the
 * state on first use, so a callback URL replayed later (or in another session) is refused.
 */
class PkceSessionStore {
  constructor(
    private readonly key: string,
    private readonly onVerified: (pending: PendingExchange) => void,
  ) {}

  store(req: Request, ctx: { nonce?: string }, appState: PkceState, _meta: unknown, callback: (err: Error | null, handle?: string) => void) {
    const handle = base64url(crypto.randomBytes(24))
    const session = req.session as unknown as SessionRecord
    session[this.key] = { state: { handle, nonce: ctx.nonce, state: appState } }
    callback(null, handle)
  }

  verify(req: Request, handle: string, callback: (err: Error | null, ctx: false | { nonce?: string }, state?: PkceState | { message: string }) => void) {
    const session = req.session as unknown as SessionRecord
    const stored = session[this.key]?.state
    delete session[this.key]
    if (!stored || typeof handle !== 'string' || !crypto.timingSafeEqual(Buffer.from(sha256(stored.handle)), Buffer.from(sha256(handle)))) {
      return callback(null, false, { message: 'state' })
    }
    const exchange = { codeVerifier: stored.state!.codeVerifier, nonce: stored.nonce }
    ;(req as RequestWithExchange).oidcExchange = exchange
    this.onVerified(exchange)
    return callback(null, { nonce: stored.nonce }, stored.state)
  }
}

const sha256 = (value: string) => crypto.createHash('sha256').update(value).digest('hex')

export interface HardenedStrategyOptions {
  name: string
  client: OidcClientConfig
  discovery: DiscoveryDocument
  keys?: JWTVerifyGetKey
  /** Receives the verified claims; returns the user for the session, or false with a reason code. */
  verify: (req: Request, claims: Record<string, unknown>) => Promise<{ user: Express.User } | { user: false; reason: string }>
}

export function createHardenedStrategy(options: HardenedStrategyOptions): OpenIdStrategy {
  const { client, discovery } = options
  const keys = options.keys ?? createRemoteJWKSet(new URL(discovery.jwks_uri))
  let pending: PendingExchange | undefined

  const store = new PkceSessionStore(`oidc:${options.name}`, (exchange) => {
    pending = exchange
  })

  const strategy = new OpenIdStrategy(
    {
      issuer: discovery.issuer,
      authorizationURL: discovery.authorization_endpoint,
      tokenURL: discovery.token_endpoint,
      userInfoURL: discovery.userinfo_endpoint ?? discovery.token_endpoint,
      clientID: client.clientId,
      clientSecret: client.clientSecret,
      callbackURL: client.redirectUri,
      scope: client.scopes.filter((s) => s !== 'openid'),
      nonce: 'true',
      skipUserProfile: true,
      passReqToCallback: true,
      store: store as never,
    },
    // Arity 6 (req, issuer, profile, context, idToken, done): the library hands over the raw ID token.
    ((req: Request, _issuer: string, _profile: unknown, _context: unknown, idToken: string, done: VerifyCallback) => {
      const exchange = (req as RequestWithExchange).oidcExchange
      verifyIdToken(idToken, keys, { issuer: discovery.issuer, audience: client.clientId, nonce: exchange?.nonce })
        .then(({ claims }) => options.verify(req, claims))
        .then((result) => ('reason' in result ? done(null, false, { message: result.reason }) : done(null, result.user)))
        .catch((error: Error) => done(null, false, { message: `id_token: ${error.message}` }))
    }) as never,
  )

  const oauth2 = (strategy as unknown as { _oauth2: { getOAuthAccessToken: (code: string, params: Record<string, string>, cb: unknown) => void } })._oauth2
  const getOAuthAccessToken = oauth2.getOAuthAccessToken.bind(oauth2)
  oauth2.getOAuthAccessToken = (code, params, cb) => {
    // Called synchronously right after the state store verified the callback: add this request's PKCE verifier.
    const exchange = pending
    pending = undefined
    if (!exchange) throw new Error('PKCE verifier missing for the token request')
    getOAuthAccessToken(code, { ...params, code_verifier: exchange.codeVerifier }, cb)
  }

  const authorizationParams = strategy.authorizationParams.bind(strategy)
  strategy.authorizationParams = (authOptions: { codeChallenge?: string }) => ({
    ...authorizationParams(authOptions),
    code_challenge: authOptions.codeChallenge,
    code_challenge_method: 'S256',
  })

  // passport calls authenticate on a per-request copy that carries success/fail/redirect: keep `this`.
  const authenticate = strategy.authenticate
  strategy.authenticate = function (this: OpenIdStrategy, req: Request, given?: object) {
    const authOptions = (given ?? {}) as { returnTo?: string }
    if (req.query?.code || req.query?.error) return authenticate.call(this, req, authOptions as never)
    // A fresh verifier per authorization request; only its S256 challenge leaves the server.
    const codeVerifier = base64url(crypto.randomBytes(32))
    const codeChallenge = base64url(crypto.createHash('sha256').update(codeVerifier).digest())
    const state: PkceState = { codeVerifier, returnTo: authOptions.returnTo }
    return authenticate.call(this, req, { ...authOptions, codeChallenge, state } as never)
  }
  return strategy
}
