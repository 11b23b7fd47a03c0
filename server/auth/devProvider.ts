// Development OpenID Provider: stands in for the MitID broker (citizens) and the regions' staff IdP
// when no real issuer is configured. A real OP (oidc-provider 8): discovery, JWKS, signed ID tokens,
// authorization code flow with PKCE S256 required, RP-initiated logout.
//
// Mount the router BEFORE any body parser or session middleware, at the issuer's path:
//   app.use('/oidc', router)   with issuer `${baseUrl}/oidc`
// oidc-provider parses its own request bodies and refuses pre-parsed ones.
//
// Never log CPR numbers: nothing here logs, and the error page shows no tokens or stack traces.
import { createHmac } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import ejs from 'ejs'
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import Provider, { errors as oidcErrors, interactionPolicy } from 'oidc-provider'
import type {
  Account,
  AccountClaims,
  Adapter,
  AdapterPayload,
  ClientMetadata,
  Configuration,
  ErrorOut,
  JWK,
} from 'oidc-provider'
import { demoCitizens, demoStaff } from '../../seeders/demoPeople.ts'
import type { DemoCitizen, DemoStaff } from '../../seeders/demoPeople.ts'

export type DevAudience = 'citizen' | 'staff'

export interface DevClient {
  clientId: string
  clientSecret: string
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  audience: DevAudience
  /** How the client authenticates at the token endpoint. Default `client_secret_basic`. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post'
}

export interface DevProviderOptions {
  /** Issuer identifier, e.g. `http://localhost:3000/oidc`; its path is where the router is mounted. */
  issuer: string
  clients: DevClient[]
  /** Keys signing the provider's cookies (newest first). At least one. */
  cookieKeys: string[]
  production: boolean
  /** The app's views root; the provider's templates live in `${viewsDir}/devProvider/`. Default: `<project>/views`. */
  viewsDir?: string
}

/** Scopes each kind of client may request (and should request). */
export const devScopes: Readonly<Record<DevAudience, string>> = {
  citizen: 'openid profile ssn mitid',
  staff: 'openid profile staff',
}

export const NSIS_LOA_PREFIX = 'https://data.gov.dk/concept/core/nsis/'

const LOA_DANISH: Record<DemoCitizen['loa'], string> = { Low: 'Lav', Substantial: 'Betydelig', High: 'Høj' }

const defaultViewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views')

/** Fixed salt: the pseudonymous `sub` must stay stable across restarts, as a broker's would. Development only. */
const PSEUDONYM_SALT = 'biobank-registry development OP: pairwise subject'

type DemoPerson = DemoCitizen | DemoStaff

function accountIdOf(person: DemoPerson): string {
  return `${person.kind}:${person.userId}`
}

function personByAccountId(accountId: string): DemoPerson | undefined {
  const [kind, userId] = accountId.split(':', 2)
  if (kind === 'citizen') return demoCitizens.find((c) => c.userId === userId)
  if (kind === 'staff') return demoStaff.find((s) => s.userId === userId)
  return undefined
}

function peopleOf(audience: DevAudience): readonly DemoPerson[] {
  return audience === 'citizen' ? demoCitizens : demoStaff
}

function pseudonym(clientId: string, mitidUuid: string): string {
  return createHmac('sha256', PSEUDONYM_SALT).update(`${clientId}\n${mitidUuid}`).digest('base64url')
}

function claimsOf(person: DemoPerson, accountId: string): AccountClaims {
  // `sub` is the account id here; the pairwiseIdentifier turns it into the per-client value.
  if (person.kind === 'citizen') {
    return {
      sub: accountId,
      name: person.name,
      'dk.cpr': person.cpr,
      loa: `${NSIS_LOA_PREFIX}${person.loa}`,
      'mitid.uuid': person.mitidUuid,
    }
  }
  return {
    sub: accountId,
    name: person.name,
    role: person.role,
    ...(person.biobank === null ? {} : { biobank: person.biobank }),
  }
}

/** In-memory storage private to one provider instance (oidc-provider's own MemoryAdapter is process-global and warns). */
function memoryAdapterFactory(): (model: string) => Adapter {
  const store = new Map<string, { value: unknown; expiresAt: number | undefined }>()
  let writes = 0

  const read = (key: string): unknown => {
    const entry = store.get(key)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key)
      return undefined
    }
    return entry.value
  }
  const write = (key: string, value: unknown, expiresIn: number | undefined): void => {
    store.set(key, { value, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined })
    if (++writes % 500 === 0) {
      const now = Date.now()
      for (const [k, e] of store) if (e.expiresAt !== undefined && e.expiresAt <= now) store.delete(k)
    }
  }
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'])

  return (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`
    const find = async (id: string) => read(key(id)) as AdapterPayload | undefined
    return {
      async upsert(id, payload, expiresIn) {
        if (model === 'Session' && payload.uid) write(`sessionUid:${payload.uid}`, id, expiresIn)
        if (grantable.has(model) && payload.grantId) {
          const grantKey = `grant:${payload.grantId}`
          const members = (read(grantKey) as string[] | undefined) ?? []
          members.push(key(id))
          write(grantKey, members, expiresIn)
        }
        if (payload.userCode) write(`userCode:${payload.userCode}`, id, expiresIn)
        write(key(id), payload, expiresIn)
      },
      find,
      async findByUid(uid) {
        const id = read(`sessionUid:${uid}`) as string | undefined
        return id === undefined ? undefined : find(id)
      },
      async findByUserCode(userCode) {
        const id = read(`userCode:${userCode}`) as string | undefined
        return id === undefined ? undefined : find(id)
      },
      async consume(id) {
        const payload = read(key(id)) as AdapterPayload | undefined
        if (payload) payload.consumed = Math.floor(Date.now() / 1000)
      },
      async destroy(id) {
        store.delete(key(id))
      },
      async revokeByGrantId(grantId) {
        const grantKey = `grant:${grantId}`
        for (const member of (read(grantKey) as string[] | undefined) ?? []) store.delete(member)
        store.delete(grantKey)
      },
    }
  }
}

/** Danish texts for the OAuth error codes a user may meet on the provider's own error page. */
const ERROR_TEXT: Record<string, string> = {
  invalid_request: 'Login-forespørgslen er ugyldig.',
  invalid_client: 'Tjenesten, der bad om login, er ukendt.',
  invalid_redirect_uri: 'Tjenestens tilbage-adresse er ikke godkendt.',
  session_not_found: 'Din login-session er udløbet eller findes ikke. Gå tilbage til tjenesten, og start forfra.',
  access_denied: 'Adgang nægtet.',
  invalid_scope: 'Tjenesten bad om oplysninger, den ikke har adgang til.',
  server_error: 'Der opstod en uventet fejl.',
  not_found: 'Siden findes ikke.',
}

function assertOptions(opts: DevProviderOptions): void {
  if (opts.production) {
    throw new Error('The development OpenID provider must never run in production; configure a real issuer')
  }
  if (opts.cookieKeys.length === 0 || opts.cookieKeys.some((k) => k.length === 0)) {
    throw new Error('The development OpenID provider needs at least one non-empty cookie key')
  }
  if (opts.clients.length === 0) throw new Error('The development OpenID provider needs at least one client')
  const ids = new Set<string>()
  for (const client of opts.clients) {
    if (ids.has(client.clientId)) throw new Error(`Duplicate development OIDC client ${client.clientId}`)
    ids.add(client.clientId)
    if (client.audience !== 'citizen' && client.audience !== 'staff') {
      throw new Error(`Development OIDC client ${client.clientId}: audience must be 'citizen' or 'staff'`)
    }
  }
}

export async function createDevProvider(opts: DevProviderOptions): Promise<{ router: express.Router; provider: Provider }> {
  assertOptions(opts)

  const issuerUrl = new URL(opts.issuer)
  const mountPath = issuerUrl.pathname.replace(/\/+$/, '')
  const viewsDir = path.join(opts.viewsDir ?? defaultViewsDir, 'devProvider')
  const audienceOf = new Map(opts.clients.map((c) => [c.clientId, c.audience]))

  const render = (view: string, data: Record<string, unknown>): Promise<string> =>
    ejs.renderFile(path.join(viewsDir, `${view}.ejs`), data)

  const errorPage = (out: { error: string; error_description?: string | undefined }): Promise<string> =>
    render('error', {
      message: ERROR_TEXT[out.error] ?? 'Login kunne ikke gennemføres.',
      code: out.error,
      description: out.error_description,
    })

  // Signing key, new at each start (relying parties fetch the JWKS).
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const exported = await exportJWK(privateKey)
  const signingKey: JWK = { ...exported, alg: 'RS256', use: 'sig', kid: await calculateJwkThumbprint(exported) }

  const clients: ClientMetadata[] = opts.clients.map((c) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    subject_type: 'pairwise',
    scope: devScopes[c.audience],
  }))

  // A session of the other kind (a citizen at a staff client, or vice versa) needs a new login.
  const policy = interactionPolicy.base()
  policy.get('login')?.checks.add(
    new interactionPolicy.Check(
      'account_kind_mismatch',
      'the End-User of the session cannot log in to this client',
      'login_required',
      (ctx) => {
        const accountId = ctx.oidc.session?.accountId
        const audience = ctx.oidc.client ? audienceOf.get(ctx.oidc.client.clientId) : undefined
        if (!accountId || !audience) return interactionPolicy.Check.NO_NEED_TO_PROMPT
        return personByAccountId(accountId)?.kind === audience
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT
      },
    ),
  )

  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, signed: true }

  const configuration: Configuration = {
    adapter: memoryAdapterFactory(),
    clients,
    jwks: { keys: [signingKey] },
    cookies: {
      keys: opts.cookieKeys,
      names: { session: 'devop_session', interaction: 'devop_interaction', resume: 'devop_resume' },
      long: cookieOptions,
      short: cookieOptions,
    },
    claims: {
      acr: null,
      auth_time: null,
      iss: null,
      sid: null,
      openid: ['sub'],
      profile: ['name'],
      ssn: ['dk.cpr'],
      mitid: ['mitid.uuid', 'loa'],
      staff: ['role', 'biobank'],
    },
    // The relying party reads the claims from the verified ID token, as from the MitID broker.
    conformIdTokenClaims: false,
    scopes: ['openid'],
    responseTypes: ['code'],
    subjectTypes: ['pairwise'],
    pairwiseIdentifier(_ctx, accountId, client) {
      const person = personByAccountId(accountId)
      return person?.kind === 'citizen' ? pseudonym(client.clientId, person.mitidUuid) : accountId
    },
    pkce: { methods: ['S256'], required: () => true },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    findAccount(_ctx, id): Account | undefined {
      const person = personByAccountId(id)
      if (!person) return undefined
      return { accountId: id, claims: () => claimsOf(person, id) }
    },
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html'
          ctx.body = await render('logout', { form })
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html'
          ctx.body = await render('loggedOut', {})
        },
      },
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`,
    },
    async renderError(ctx, out: ErrorOut) {
      ctx.type = 'html'
      ctx.body = await errorPage(out)
    },
    ttl: {
      AccessToken: 10 * 60,
      AuthorizationCode: 60,
      BackchannelAuthenticationRequest: 10 * 60,
      ClientCredentials: 10 * 60,
      DeviceCode: 10 * 60,
      Grant: 8 * 60 * 60,
      IdToken: 60 * 60,
      Interaction: 60 * 60,
      RefreshToken: 8 * 60 * 60,
      Session: 8 * 60 * 60,
    },
  }

  const provider = new Provider(opts.issuer, configuration)
  // Behind a TLS-terminating proxy (https issuer) the forwarded protocol must be trusted.
  if (issuerUrl.protocol === 'https:') provider.proxy = true

  const router = express.Router()
  const parseForm = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 })

  const sendError = async (res: Response, status: number, out: { error: string; error_description?: string }) => {
    res.status(status).type('html').set('Cache-Control', 'no-store').send(await errorPage(out))
  }

  /** Errors of the interaction routes: provider errors (e.g. expired interaction) get the Danish error page. */
  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        await fn(req, res)
      } catch (err) {
        if (err instanceof oidcErrors.OIDCProviderError) {
          await sendError(res, err.statusCode || 400, { error: err.error, error_description: err.error_description })
        } else {
          next(err)
        }
      }
    }

  const loginPage = async (
    res: Response,
    uid: string,
    audience: DevAudience,
    state: { status: number; value: string; error?: string },
  ) => {
    const people = peopleOf(audience).map((p) => ({
      userId: p.userId,
      name: p.name,
      detail: p.kind === 'citizen' ? `sikringsniveau ${LOA_DANISH[p.loa]}` : undefined,
    }))
    res
      .status(state.status)
      .type('html')
      .set('Cache-Control', 'no-store')
      .send(
        await render('login', {
          action: `${mountPath}/interaction/${encodeURIComponent(uid)}/login`,
          abortAction: `${mountPath}/interaction/${encodeURIComponent(uid)}/abort`,
          audience,
          people,
          value: state.value,
          error: state.error,
        }),
      )
  }

  const audienceOfInteraction = (clientId: unknown): DevAudience => {
    const audience = typeof clientId === 'string' ? audienceOf.get(clientId) : undefined
    if (!audience) throw new oidcErrors.InvalidClient('unknown client')
    return audience
  }

  router.get(
    '/interaction/:uid',
    handle(async (req, res) => {
      const details = await provider.interactionDetails(req, res)
      if (details.uid !== req.params.uid) throw new oidcErrors.SessionNotFound('interaction mismatch')
      const audience = audienceOfInteraction(details.params.client_id)

      if (details.prompt.name === 'login') {
        const hint = details.params.login_hint
        await loginPage(res, details.uid, audience, { status: 200, value: typeof hint === 'string' ? hint : '' })
        return
      }

      if (details.prompt.name === 'consent') {
        // First-party clients: grant what was asked for, without a consent screen.
        const accountId = details.session?.accountId
        if (!accountId) throw new oidcErrors.SessionNotFound('no account in session')
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId, clientId: String(details.params.client_id) })
        if (!grant) throw new oidcErrors.SessionNotFound('grant not found')
        const missing = details.prompt.details
        if (Array.isArray(missing.missingOIDCScope)) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
        if (Array.isArray(missing.missingOIDCClaims)) grant.addOIDCClaims(missing.missingOIDCClaims as string[])
        if (missing.missingResourceScopes && typeof missing.missingResourceScopes === 'object') {
          for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes as Record<string, string[]>)) {
            grant.addResourceScope(indicator, scopes.join(' '))
          }
        }
        const grantId = await grant.save()
        await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true })
        return
      }

      throw new oidcErrors.InvalidRequest(`unsupported prompt ${details.prompt.name}`)
    }),
  )

  router.post(
    '/interaction/:uid/login',
    parseForm,
    handle(async (req, res) => {
      const details = await provider.interactionDetails(req, res)
      if (details.uid !== req.params.uid) throw new oidcErrors.SessionNotFound('interaction mismatch')
      if (details.prompt.name !== 'login') throw new oidcErrors.InvalidRequest('no login expected')
      const audience = audienceOfInteraction(details.params.client_id)

      const body: unknown = req.body
      const raw = body && typeof body === 'object' && 'login' in body ? (body as { login: unknown }).login : undefined
      const value = typeof raw === 'string' ? raw.trim().slice(0, 100) : ''
      if (value === '') {
        await loginPage(res, details.uid, audience, { status: 400, value, error: 'Indtast dit bruger-ID' })
        return
      }
      const person = peopleOf(audience).find((p) => p.userId === value.toLowerCase())
      if (!person) {
        await loginPage(res, details.uid, audience, { status: 400, value, error: 'Ukendt bruger-ID' })
        return
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: accountIdOf(person), amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      )
    }),
  )

  router.post(
    '/interaction/:uid/abort',
    parseForm,
    handle(async (req, res) => {
      const details = await provider.interactionDetails(req, res)
      if (details.uid !== req.params.uid) throw new oidcErrors.SessionNotFound('interaction mismatch')
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false },
      )
    }),
  )

  router.use(provider.callback())

  return { router, provider }
}
