// The development OpenID provider, driven like a browser and a relying party would: real HTTP on an
// ephemeral port, manual redirects, cookies kept by superagent agents, ID tokens verified against the JWKS.
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import express from 'express'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import superagent from 'superagent'
import { createDevProvider, devScopes, NSIS_LOA_PREFIX } from '../../server/auth/devProvider.ts'
import type { DevClient } from '../../server/auth/devProvider.ts'

type Agent = ReturnType<typeof superagent.agent>

interface Discovery {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
  end_session_endpoint: string
  code_challenge_methods_supported: string[]
  scopes_supported: string[]
  claims_supported: string[]
}

interface Pkce {
  verifier: string
  challenge: string
}

function newPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

const random = () => randomBytes(12).toString('base64url')

/** Either the relying party's redirect target was reached, or a page of the provider was rendered. */
type Stop = { kind: 'rp'; url: URL } | { kind: 'page'; url: string; res: superagent.Response }

describe('development OpenID provider', function () {
  this.timeout(20_000)

  let server: http.Server
  let base: string
  let issuer: string
  let discovery: Discovery
  let citizenClient: DevClient
  let otherCitizenClient: DevClient
  let staffClient: DevClient
  const rpOrigins: string[] = []
  const providerMessages: string[] = []
  const originalWarn = console.warn
  const originalInfo = console.info

  before(async () => {
    // oidc-provider reports configuration problems through console.warn / console.info.
    console.warn = (...args: unknown[]) => {
      if (args.some((a) => String(a).includes('oidc-provider'))) providerMessages.push(args.map(String).join(' '))
      else originalWarn(...args)
    }
    console.info = (...args: unknown[]) => {
      if (args.some((a) => String(a).includes('oidc-provider'))) providerMessages.push(args.map(String).join(' '))
      else originalInfo(...args)
    }

    server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    base = `http://127.0.0.1:${port}`
    issuer = `${base}/oidc`
    rpOrigins.push(`${base}/rp/`)

    citizenClient = {
      clientId: 'biobank-registry-citizen',
      clientSecret: 'citizen-secret-for-tests-only',
      redirectUris: [`${base}/rp/citizen/callback`],
      postLogoutRedirectUris: [`${base}/rp/citizen/logged-out`],
      audience: 'citizen',
    }
    otherCitizenClient = {
      clientId: 'another-citizen-service',
      clientSecret: 'other-secret-for-tests-only',
      redirectUris: [`${base}/rp/other/callback`],
      postLogoutRedirectUris: [],
      audience: 'citizen',
      tokenEndpointAuthMethod: 'client_secret_post',
    }
    staffClient = {
      clientId: 'biobank-registry-staff',
      clientSecret: 'staff-secret-for-tests-only',
      redirectUris: [`${base}/rp/staff/callback`],
      postLogoutRedirectUris: [`${base}/rp/staff/logged-out`],
      audience: 'staff',
    }

    const { router } = await createDevProvider({
      issuer,
      clients: [citizenClient, otherCitizenClient, staffClient],
      cookieKeys: ['test-cookie-key-1', 'test-cookie-key-0'],
      production: false,
    })
    const app = express()
    app.use('/oidc', router)
    server.on('request', app)

    const res = await superagent.get(`${issuer}/.well-known/openid-configuration`)
    discovery = res.body as Discovery
  })

  after(async () => {
    console.warn = originalWarn
    console.info = originalInfo
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  function authorizeUrl(
    client: DevClient,
    params: { state: string; nonce: string; pkce?: Pkce; scope?: string; extra?: Record<string, string> },
  ): string {
    const url = new URL(discovery.authorization_endpoint)
    url.searchParams.set('client_id', client.clientId)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('redirect_uri', client.redirectUris[0] ?? '')
    url.searchParams.set('scope', params.scope ?? devScopes[client.audience])
    url.searchParams.set('state', params.state)
    url.searchParams.set('nonce', params.nonce)
    if (params.pkce) {
      url.searchParams.set('code_challenge', params.pkce.challenge)
      url.searchParams.set('code_challenge_method', 'S256')
    }
    for (const [k, v] of Object.entries(params.extra ?? {})) url.searchParams.set(k, v)
    return url.href
  }

  /** Follow redirects by hand until the RP is reached or the provider renders a page. */
  async function follow(agent: Agent, start: string): Promise<Stop> {
    let url = start
    for (let hops = 0; hops < 10; hops++) {
      if (rpOrigins.some((o) => url.startsWith(o))) return { kind: 'rp', url: new URL(url) }
      const res = await agent.get(url).redirects(0).ok(() => true)
      if (res.status >= 300 && res.status < 400) {
        url = new URL(String(res.headers.location), url).href
        continue
      }
      return { kind: 'page', url, res }
    }
    throw new Error(`too many redirects from ${start}`)
  }

  function formAction(html: string, pattern: RegExp): string {
    const match = pattern.exec(html)
    if (!match?.[1]) throw new Error(`no form action matching ${pattern} in page`)
    return new URL(match[1].replace(/&amp;/g, '&'), base).href
  }

  async function submitLogin(agent: Agent, loginPage: Stop, userId: string): Promise<{ res: superagent.Response; next?: Stop }> {
    if (loginPage.kind !== 'page') throw new Error('expected the login page')
    const action = formAction(loginPage.res.text, /<form method="post" action="([^"]+\/login)"/)
    const res = await agent.post(action).type('form').send({ login: userId }).redirects(0).ok(() => true)
    if (res.status >= 300 && res.status < 400) {
      return { res, next: await follow(agent, new URL(String(res.headers.location), action).href) }
    }
    return { res }
  }

  async function loginAndGetCode(agent: Agent, client: DevClient, userId: string) {
    const state = random()
    const nonce = random()
    const pkce = newPkce()
    const page = await follow(agent, authorizeUrl(client, { state, nonce, pkce }))
    expect(page.kind).to.equal('page')
    const { next } = await submitLogin(agent, page, userId)
    if (next?.kind !== 'rp') throw new Error(`login as ${userId} did not return to the RP`)
    expect(next.url.searchParams.get('state')).to.equal(state)
    const code = next.url.searchParams.get('code')
    expect(code).to.be.a('string')
    return { code: code as string, state, nonce, pkce }
  }

  function exchange(client: DevClient, code: string, verifier: string) {
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUris[0] ?? '',
      code_verifier: verifier,
    }
    const req = superagent.post(discovery.token_endpoint).type('form').ok(() => true)
    if (client.tokenEndpointAuthMethod === 'client_secret_post') {
      return req.send({ ...form, client_id: client.clientId, client_secret: client.clientSecret })
    }
    return req.auth(client.clientId, client.clientSecret).send(form)
  }

  async function verifyIdToken(idToken: string, client: DevClient, nonce: string): Promise<JWTPayload> {
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri))
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer,
      audience: client.clientId,
      algorithms: ['RS256'],
    })
    expect(protectedHeader.alg).to.equal('RS256')
    expect(payload.nonce).to.equal(nonce)
    return payload
  }

  async function fullLogin(client: DevClient, userId: string, agent: Agent = superagent.agent()) {
    const { code, nonce, pkce } = await loginAndGetCode(agent, client, userId)
    const res = await exchange(client, code, pkce.verifier)
    expect(res.status, JSON.stringify(res.body)).to.equal(200)
    const body = res.body as { id_token: string }
    return { agent, idToken: body.id_token, claims: await verifyIdToken(body.id_token, client, nonce) }
  }

  it('publishes a discovery document', () => {
    expect(discovery.issuer).to.equal(issuer)
    expect(discovery.jwks_uri).to.equal(`${issuer}/jwks`)
    expect(discovery.authorization_endpoint).to.equal(`${issuer}/auth`)
    expect(discovery.token_endpoint).to.equal(`${issuer}/token`)
    expect(discovery.end_session_endpoint).to.equal(`${issuer}/session/end`)
    expect(discovery.code_challenge_methods_supported).to.deep.equal(['S256'])
    expect(discovery.scopes_supported).to.include.members(['openid', 'profile', 'ssn', 'mitid', 'staff'])
    expect(discovery.claims_supported).to.include.members(['sub', 'name', 'dk.cpr', 'loa', 'mitid.uuid', 'role', 'biobank'])
  })

  it('publishes an RS256 signing key (public part only)', async () => {
    const res = await superagent.get(discovery.jwks_uri)
    const keys = (res.body as { keys: Record<string, unknown>[] }).keys
    expect(keys).to.have.length(1)
    const [key] = keys
    expect(key).to.include({ kty: 'RSA', alg: 'RS256', use: 'sig' })
    expect(key?.kid).to.be.a('string').and.not.be.empty
    expect(key).to.not.have.property('d')
  })

  it('refuses an authorization request without a code_challenge', async () => {
    const agent = superagent.agent()
    const stop = await follow(agent, authorizeUrl(citizenClient, { state: 'st', nonce: 'n' }))
    if (stop.kind !== 'rp') throw new Error('expected an error redirect to the RP')
    expect(stop.url.searchParams.get('error')).to.equal('invalid_request')
    expect(stop.url.searchParams.get('code')).to.equal(null)
    expect(stop.url.searchParams.get('state')).to.equal('st')
  })

  it('refuses the plain code_challenge_method', async () => {
    const agent = superagent.agent()
    const pkce = newPkce()
    const url = authorizeUrl(citizenClient, { state: 'st', nonce: 'n', pkce, extra: { code_challenge_method: 'plain' } })
    const stop = await follow(agent, url)
    if (stop.kind !== 'rp') throw new Error('expected an error redirect to the RP')
    expect(stop.url.searchParams.get('error')).to.equal('invalid_request')
  })

  it('renders a Danish error page for an unknown client, without internals', async () => {
    const url = new URL(authorizeUrl(citizenClient, { state: 'st', nonce: 'n', pkce: newPkce() }))
    url.searchParams.set('client_id', 'nobody')
    const stop = await follow(superagent.agent(), url.href)
    if (stop.kind !== 'page') throw new Error('expected an error page')
    expect(stop.res.status).to.equal(400)
    expect(stop.res.text).to.include('<html lang="da">')
    expect(stop.res.text).to.include('Login kunne ikke gennemføres')
    expect(stop.res.text).to.not.match(/<script|style=|\bat .*\.js:\d+/)
  })

  describe('citizen login as anne', () => {
    const agent = superagent.agent()
    let loginPage: Stop
    let code: string
    let nonce: string
    let pkce: Pkce
    let idToken: string
    let sub: string

    it('shows the demo login page', async () => {
      loginPage = await follow(agent, authorizeUrl(citizenClient, { state: 's1', nonce: 'unused', pkce: newPkce() }))
      if (loginPage.kind !== 'page') throw new Error('expected the login page')
      const html = loginPage.res.text
      expect(loginPage.url).to.match(/\/oidc\/interaction\/[\w-]+$/)
      expect(loginPage.res.status).to.equal(200)
      expect(html).to.include('<html lang="da">')
      expect(html).to.include('<title>Log ind med MitID (demo)</title>')
      expect(html).to.match(/<label class="form-label" for="login">Bruger-ID<\/label>/)
      expect(html).to.match(/<input[^>]+id="login"[^>]+name="login"[^>]+autocomplete="username"/)
      expect(html).to.include('>Log ind</button>')
      expect(html).to.include('name="login" value="anne">Log ind som anne (Anne Andersen, sikringsniveau Betydelig)</button>')
      expect(html).to.include('sikringsniveau Lav')
      expect(html).to.not.include('henrik')
      expect(html).to.include('fiktive')
      expect(html).to.match(/<main[\s>]/)
      expect(html.match(/<h1[\s>]/g)).to.have.length(1)
      expect(html).to.not.match(/<script|style=/)
      for (const person of ['1503724518', '0202851237']) expect(html).to.not.include(person)
    })

    it('logs in and returns a code with the original state (consent is granted automatically)', async () => {
      const got = await loginAndGetCode(agent, citizenClient, 'anne')
      ;({ code, nonce, pkce } = got)
    })

    it('refuses the code with the wrong code_verifier', async () => {
      const res = await exchange(citizenClient, code, newPkce().verifier)
      expect(res.status).to.equal(400)
      expect(res.body).to.include({ error: 'invalid_grant' })
    })

    it('refuses the code for another client', async () => {
      const res = await exchange(staffClient, code, pkce.verifier)
      expect(res.status).to.equal(400)
      expect(res.body).to.include({ error: 'invalid_grant' })
    })

    it('exchanges the code with the right code_verifier for a verifiable ID token with the MitID claims', async () => {
      const res = await exchange(citizenClient, code, pkce.verifier)
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      idToken = (res.body as { id_token: string }).id_token
      const claims = await verifyIdToken(idToken, citizenClient, nonce)
      expect(claims['dk.cpr']).to.equal('1503724518')
      expect(claims.loa).to.equal(`${NSIS_LOA_PREFIX}Substantial`)
      expect(claims.loa).to.equal('https://data.gov.dk/concept/core/nsis/Substantial')
      expect(claims.name).to.equal('Anne Andersen')
      expect(claims['mitid.uuid']).to.equal('7c1a8f0e-1b2d-4e52-9a11-0a6e1f000001')
      expect(claims.sub).to.match(/^[\w-]{43}$/)
      expect(claims).to.not.have.property('role')
      sub = claims.sub as string
    })

    it('refuses to replay the code', async () => {
      const res = await exchange(citizenClient, code, pkce.verifier)
      expect(res.status).to.equal(400)
      expect(res.body).to.include({ error: 'invalid_grant' })
    })

    it('keeps the session (single sign-on) with the same pseudonymous sub for the client', async () => {
      const state = random()
      const again = newPkce()
      const stop = await follow(agent, authorizeUrl(citizenClient, { state, nonce: 'n2', pkce: again }))
      if (stop.kind !== 'rp') throw new Error('expected a code without a new login')
      const res = await exchange(citizenClient, stop.url.searchParams.get('code') ?? '', again.verifier)
      const claims = await verifyIdToken((res.body as { id_token: string }).id_token, citizenClient, 'n2')
      expect(claims.sub).to.equal(sub)
    })

    it('gives another client another pseudonym for the same citizen', async () => {
      const other = newPkce()
      const stop = await follow(agent, authorizeUrl(otherCitizenClient, { state: 'o', nonce: 'n3', pkce: other }))
      if (stop.kind !== 'rp') throw new Error('expected a code without a new login')
      const res = await exchange(otherCitizenClient, stop.url.searchParams.get('code') ?? '', other.verifier)
      expect(res.status, JSON.stringify(res.body)).to.equal(200)
      const claims = await verifyIdToken((res.body as { id_token: string }).id_token, otherCitizenClient, 'n3')
      expect(claims['mitid.uuid']).to.equal('7c1a8f0e-1b2d-4e52-9a11-0a6e1f000001')
      expect(claims.sub).to.be.a('string').and.not.equal(sub)
    })

    it('sends a citizen session to the login page when a staff client asks', async () => {
      const stop = await follow(agent, authorizeUrl(staffClient, { state: 'x', nonce: 'n', pkce: newPkce() }))
      if (stop.kind !== 'page') throw new Error('a citizen session must not log in to the staff client')
      expect(stop.res.text).to.include('Bruger-ID')
      expect(stop.res.text).to.include('Log ind som henrik')
    })

    it('logs out through RP-initiated logout back to the RP, and asks for login again afterwards', async () => {
      const url = new URL(discovery.end_session_endpoint)
      url.searchParams.set('id_token_hint', idToken)
      url.searchParams.set('post_logout_redirect_uri', citizenClient.postLogoutRedirectUris[0] ?? '')
      url.searchParams.set('state', 'bye')
      const confirm = await agent.get(url.href).redirects(0).ok(() => true)
      expect(confirm.status).to.equal(200)
      expect(confirm.text).to.include('<html lang="da">')
      expect(confirm.text).to.match(/<button[^>]+name="logout" value="yes"[^>]*>Log ud<\/button>/)
      expect(confirm.text).to.not.match(/<script|style=/)
      const action = formAction(confirm.text, /<form id="op.logoutForm" method="post" action="([^"]+)"/)
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1]
      expect(xsrf).to.be.a('string')

      const done = await agent.post(action).type('form').send({ xsrf, logout: 'yes' }).redirects(0).ok(() => true)
      expect(done.status).to.equal(303)
      const back = new URL(String(done.headers.location))
      expect(`${back.origin}${back.pathname}`).to.equal(citizenClient.postLogoutRedirectUris[0])
      expect(back.searchParams.get('state')).to.equal('bye')

      const stop = await follow(agent, authorizeUrl(citizenClient, { state: 'after', nonce: 'n', pkce: newPkce() }))
      if (stop.kind !== 'page') throw new Error('expected the login page after logout')
      expect(stop.res.text).to.include('Bruger-ID')
    })

    it('shows the Danish success page when logging out without a post_logout_redirect_uri', async () => {
      const fresh = superagent.agent()
      await fullLogin(citizenClient, 'bo', fresh)
      const confirm = await fresh.get(discovery.end_session_endpoint).redirects(0).ok(() => true)
      const action = formAction(confirm.text, /<form id="op.logoutForm" method="post" action="([^"]+)"/)
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1]
      const done = await fresh.post(action).type('form').send({ xsrf, logout: 'yes' }).redirects(0).ok(() => true)
      const success = await follow(fresh, new URL(String(done.headers.location), action).href)
      if (success.kind !== 'page') throw new Error('expected the logged-out page')
      expect(success.res.status).to.equal(200)
      expect(success.res.text).to.include('Du er logget ud')
    })
  })

  it('asserts LoA Low for lav', async () => {
    const { claims } = await fullLogin(citizenClient, 'lav')
    expect(claims.loa).to.equal('https://data.gov.dk/concept/core/nsis/Low')
    expect(claims['dk.cpr']).to.equal('1111901115')
  })

  it('accepts the user id with surrounding spaces and capitals', async () => {
    const { claims } = await fullLogin(citizenClient, '  Carl ')
    expect(claims.loa).to.equal('https://data.gov.dk/concept/core/nsis/High')
    expect(claims.name).to.equal('Carl Christensen')
  })

  it('issues staff claims for henrik via the staff client', async () => {
    const { claims } = await fullLogin(staffClient, 'henrik')
    expect(claims).to.include({ sub: 'staff:henrik', name: 'Henrik Holm', role: 'biobank_admin', biobank: 'RH' })
    expect(claims).to.not.have.property('dk.cpr')
    expect(claims).to.not.have.property('mitid.uuid')
  })

  it('issues the auditor without a biobank', async () => {
    const { claims } = await fullLogin(staffClient, 'revisor')
    expect(claims).to.include({ role: 'auditor', name: 'Rikke Revisor' })
    expect(claims).to.not.have.property('biobank')
  })

  it('refuses a staff member on the citizen client with "Ukendt bruger-ID"', async () => {
    const agent = superagent.agent()
    const page = await follow(agent, authorizeUrl(citizenClient, { state: 's', nonce: 'n', pkce: newPkce() }))
    const { res, next } = await submitLogin(agent, page, 'henrik')
    expect(next).to.equal(undefined)
    expect(res.status).to.equal(400)
    expect(res.text).to.include('<title>Log ind med MitID (demo)</title>')
    expect(res.text).to.match(/<div class="alert alert-error" role="alert">[\s\S]*<a href="#login">Ukendt bruger-ID<\/a>/)
    expect(res.text).to.match(/<span class="form-error-message" id="login-error">/)
    expect(res.text).to.match(/<input[^>]+aria-describedby="login-hint login-error"[^>]+aria-invalid="true"/)
    expect(res.text).to.include('value="henrik"')

    // The same interaction can still be completed with a citizen.
    const retry = await submitLogin(agent, { kind: 'page', url: page.kind === 'page' ? page.url : '', res }, 'anne')
    expect(retry.next?.kind).to.equal('rp')
  })

  it('refuses a citizen on the staff client', async () => {
    const agent = superagent.agent()
    const page = await follow(agent, authorizeUrl(staffClient, { state: 's', nonce: 'n', pkce: newPkce() }))
    const { res } = await submitLogin(agent, page, 'anne')
    expect(res.status).to.equal(400)
    expect(res.text).to.include('Ukendt bruger-ID')
  })

  it('refuses a login post without the interaction cookie', async () => {
    const agent = superagent.agent()
    const page = await follow(agent, authorizeUrl(citizenClient, { state: 's', nonce: 'n', pkce: newPkce() }))
    if (page.kind !== 'page') throw new Error('expected the login page')
    const action = formAction(page.res.text, /<form method="post" action="([^"]+\/login)"/)
    const res = await superagent.post(action).type('form').send({ login: 'anne' }).redirects(0).ok(() => true)
    expect(res.status).to.equal(400)
    expect(res.text).to.include('Login kunne ikke gennemføres')
  })

  it('refuses to run in production', async () => {
    let error: unknown
    try {
      await createDevProvider({
        issuer: 'https://biobank.example.dk/oidc',
        clients: [citizenClient],
        cookieKeys: ['k'],
        production: true,
      })
    } catch (err) {
      error = err
    }
    expect(error).to.be.instanceOf(Error)
    expect((error as Error).message).to.equal(
      'The development OpenID provider must never run in production; configure a real issuer',
    )
  })

  // Declared last so that it runs after the nested suite above.
  describe('afterwards', () => {
    it('printed no oidc-provider warnings or notices', () => {
      expect(providerMessages).to.deep.equal([])
    })
  })
})
