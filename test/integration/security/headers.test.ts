// ASVS 4.0 V14.4 (HTTP security headers) and V3.4 (cookies), on every GET route read from the app, signed in as
// the route's user and signed out: a CSP whose script-src allows no inline script, no framing, nosniff, a
// Referrer-Policy; cookies HttpOnly and SameSite always, and in production Secure, with HSTS on every answer.
// Production runs for real: NODE_ENV=production with its required secrets, its issuers pointing at the
// development provider of a second (test) app, since production never mounts one itself.
import { expect } from 'chai'
import type { Agent } from '../../support/oidcFlow.ts'
import { authorizeUntilCallback, get, newAgent } from '../../support/oidcFlow.ts'
import { testConfig } from '../../support/testDatabase.ts'
import { SecurityContext, type Response } from './harness.ts'
import { apiSend, ownPath, pageActorFor } from './exercise.ts'
import { audienceOf, fillPath, isStateChanging, paramsOf, routeKey, type AppRoute } from './routes.ts'
import { API, PARAMS } from './table.ts'
import { SESSION_COOKIE } from '../../../server/setUpWebSession.ts'

const SAFE_REFERRER_POLICIES = ['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']

/** The directives of a Content-Security-Policy header: name → sources. */
function cspDirectives(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  )
}

/** What is wrong with the security headers of one answer (empty when nothing). */
function headerProblems(response: Response, production: boolean): string[] {
  const problems: string[] = []
  const csp = response.headers['content-security-policy']
  if (typeof csp !== 'string') problems.push('no Content-Security-Policy')
  else {
    const directives = cspDirectives(csp)
    const scriptSrc = directives.get('script-src') ?? directives.get('default-src')
    if (!scriptSrc) problems.push('CSP without script-src or default-src')
    else if (scriptSrc.some((s) => ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:'].includes(s))) problems.push(`script-src ${scriptSrc.join(' ')}`)
    if (directives.get('script-src-attr')?.includes("'unsafe-inline'")) problems.push("script-src-attr 'unsafe-inline'")
    if (directives.get('frame-ancestors')?.join(' ') !== "'none'") problems.push(`frame-ancestors ${directives.get('frame-ancestors')?.join(' ') ?? '(missing)'}`)
    if (directives.get('object-src')?.join(' ') !== "'none'") problems.push(`object-src ${directives.get('object-src')?.join(' ') ?? '(missing)'}`)
    if (!directives.has('base-uri')) problems.push('CSP without base-uri')
    if (production && !directives.has('upgrade-insecure-requests')) problems.push('CSP without upgrade-insecure-requests in production')
  }
  if (response.headers['x-content-type-options'] !== 'nosniff') problems.push(`X-Content-Type-Options ${response.headers['x-content-type-options'] ?? '(missing)'}`)
  const referrer = String(response.headers['referrer-policy'] ?? '')
  if (!referrer.split(',').map((p) => p.trim()).every((p) => SAFE_REFERRER_POLICIES.includes(p)) || referrer === '') problems.push(`Referrer-Policy ${referrer || '(missing)'}`)
  if (response.headers['x-powered-by']) problems.push(`X-Powered-By ${response.headers['x-powered-by']}`)
  const hsts = String(response.headers['strict-transport-security'] ?? '')
  if (production) {
    const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0)
    if (maxAge < 31_536_000 || !/includeSubDomains/i.test(hsts)) problems.push(`Strict-Transport-Security ${hsts || '(missing)'}`)
  }
  return problems
}

function setCookies(response: Response): string[] {
  const header = response.headers['set-cookie'] as unknown
  return Array.isArray(header) ? (header as string[]) : typeof header === 'string' ? [header] : []
}

/** What is wrong with one Set-Cookie header. */
function cookieProblems(cookie: string, production: boolean): string[] {
  const name = cookie.split('=')[0]
  const problems: string[] = []
  if (!/;\s*HttpOnly/i.test(cookie)) problems.push(`${name} without HttpOnly`)
  if (!/;\s*SameSite=(Lax|Strict)/i.test(cookie)) problems.push(`${name} without SameSite=Lax or Strict`)
  if (production && !/;\s*Secure/i.test(cookie)) problems.push(`${name} without Secure in production`)
  return problems
}

/** The GET routes of the app as the suite opens them: signed in as their user (when they have one) and signed out. */
async function everyGet(ctx: SecurityContext, routes: AppRoute[], signedIn: boolean, check: (what: string, response: Response) => void) {
  for (const route of routes.filter((r) => !isStateChanging(r) && audienceOf(r.path) !== 'oidc')) {
    const actor = signedIn ? pageActorFor(route) : undefined
    if (signedIn && !actor) continue
    // Signed out, any well-formed id will do: the answer is a redirect to the sign-in.
    const path = signedIn
      ? (await ownPath(ctx, route)).path
      : fillPath(route.path, Object.fromEntries(paramsOf(route.path).map((name) => [name, PARAMS[audienceOf(route.path)][name]!.missing])))
    const agent: Agent | undefined = actor ? await ctx.as(actor) : undefined
    check(`${actor ?? 'signed out'} ${routeKey(route)}`, await ctx.get(agent, path))
  }
}

describe('security: headers and cookies', function () {
  this.timeout(300_000)

  describe('in the test environment', () => {
    let ctx: SecurityContext
    let routes: AppRoute[]
    before(async () => {
      ctx = await SecurityContext.start()
      routes = ctx.routes()
    })
    after(async () => {
      await ctx?.close()
    })

    it('sends the security headers on every GET route, signed in and signed out, and cookies HttpOnly and SameSite', async () => {
      const failures: string[] = []
      let answers = 0
      const check = (what: string, response: Response) => {
        answers += 1
        failures.push(...headerProblems(response, false).map((p) => `${what} (${response.status}): ${p}`))
        for (const cookie of setCookies(response)) failures.push(...cookieProblems(cookie, false).map((p) => `${what}: ${p}`))
      }
      await everyGet(ctx, routes, true, check)
      await everyGet(ctx, routes, false, check)
      expect(answers).to.be.greaterThan(40)
      expect(failures).to.deep.equal([])
    })

    it("sends the security headers on every API route's answers, accepted and refused: JSON with nosniff, Cache-Control: no-store (an answer names samples), and no cookie", async () => {
      const failures: string[] = []
      let answers = 0
      const apiRoutes = routes.filter((r) => audienceOf(r.path) === 'api')
      expect(apiRoutes.length).to.be.greaterThan(2)
      const valid = await API.headers(ctx)
      const check = (what: string, response: Response) => {
        answers += 1
        const problems = [...headerProblems(response, false)]
        if (!/^application\/json/.test(String(response.headers['content-type']))) problems.push(`Content-Type ${response.headers['content-type']}`)
        if (!/no-store/.test(String(response.headers['cache-control'] ?? ''))) problems.push(`Cache-Control ${response.headers['cache-control'] ?? '(none)'}`)
        if (response.headers['set-cookie']) problems.push(`Set-Cookie ${String(response.headers['set-cookie'])}`)
        failures.push(...problems.map((p) => `${what} (${response.status}): ${p}`))
      }
      for (const route of apiRoutes) {
        const key = routeKey(route)
        const spec = API.routes[key]!
        const accepted = await apiSend(ctx, route, { headers: spec.public ? {} : valid })
        if (accepted.status >= 300) failures.push(`${key} with the key: ${accepted.status}`)
        check(`${key} with the key`, accepted)
        if (!spec.public) check(`${key} without a key`, await apiSend(ctx, route))
        if (paramsOf(route.path).length > 0) {
          const missing = fillPath(route.path, Object.fromEntries(paramsOf(route.path).map((name) => [name, PARAMS.api[name]!.missing])))
          check(`${key} with an id that does not exist`, await apiSend(ctx, route, { headers: valid, path: missing }))
        }
      }
      // An address under /api that is no route, and a body the API refuses.
      check('GET /api/v1/nothing', await apiSend(ctx, { method: 'GET', path: '/api/v1/eligibility/:checkId' }, { headers: valid, path: '/api/v1/nothing' }))
      check('POST /api/v1/eligibility with a bad body', await apiSend(ctx, { method: 'POST', path: '/api/v1/eligibility' }, { headers: valid, body: { labels: 'x' } }))
      expect(answers).to.be.greaterThan(6)
      expect(failures).to.deep.equal([])
    })

    it('sets the session cookie HttpOnly and SameSite when a sign-in starts and when it completes, and the language cookie too', async () => {
      const agent = newAgent()
      const start = await get(agent, `${ctx.baseUrl}/auth/borger/login`)
      const startCookies = setCookies(start).filter((c) => c.startsWith(`${SESSION_COOKIE}=`))
      expect(startCookies).to.have.length(1)
      const other = newAgent()
      const { callbackUrl } = await authorizeUntilCallback(other, ctx.baseUrl, 'citizen', 'anne')
      const callback = await get(other, callbackUrl!)
      const callbackCookies = setCookies(callback).filter((c) => c.startsWith(`${SESSION_COOKIE}=`))
      expect(callbackCookies, 'a new session id after sign-in').to.have.length(1)
      const lang = setCookies(await ctx.get(undefined, '/?lang=en')).filter((c) => c.startsWith('lang='))
      expect(lang).to.have.length(1)
      const all = [...startCookies, ...callbackCookies, ...lang]
      expect(all.flatMap((c) => cookieProblems(c, false))).to.deep.equal([])
      for (const cookie of all) expect(cookie).to.match(/;\s*Path=\//i)
    })
  })

  describe('in production', () => {
    let issuerApp: SecurityContext
    let ctx: SecurityContext
    let routes: AppRoute[]
    before(async () => {
      // The identity provider: the development provider of an ordinary test app.
      issuerApp = await SecurityContext.start()
      const issuer = `${issuerApp.baseUrl}/oidc`
      const { cprHmacKey, cprEncryptionKey } = testConfig().secrets
      ctx = await SecurityContext.start({
        NODE_ENV: 'production',
        SESSION_SECRET: 'a production session secret of at least 32 characters',
        CPR_HMAC_KEY: cprHmacKey.toString('hex'),
        CPR_ENCRYPTION_KEY: cprEncryptionKey.toString('hex'),
        TRUST_PROXY: 'true',
        CITIZEN_OIDC_ISSUER: issuer,
        CITIZEN_OIDC_CLIENT_ID: 'biobank-registry-citizen',
        CITIZEN_OIDC_CLIENT_SECRET: 'development-citizen-secret',
        STAFF_OIDC_ISSUER: issuer,
        STAFF_OIDC_CLIENT_ID: 'biobank-registry-staff',
        STAFF_OIDC_CLIENT_SECRET: 'development-staff-secret',
      })
      expect(ctx.services.config.production).to.equal(true)
      expect(ctx.services.config.auth.useDevProvider).to.equal(false)
      routes = ctx.routes()
    })
    after(async () => {
      await ctx?.close()
      await issuerApp?.close()
    })

    it('mounts no development provider', async () => {
      expect((await ctx.get(undefined, '/oidc/.well-known/openid-configuration')).status).to.equal(404)
    })

    it('sends HSTS and the security headers on every GET route', async () => {
      const failures: string[] = []
      let answers = 0
      await everyGet(ctx, routes, false, (what, response) => {
        answers += 1
        if (response.status >= 500) failures.push(`${what}: ${response.status}`)
        failures.push(...headerProblems(response, true).map((p) => `${what} (${response.status}): ${p}`))
        for (const cookie of setCookies(response)) failures.push(...cookieProblems(cookie, true).map((p) => `${what}: ${p}`))
      })
      expect(answers).to.be.greaterThan(30)
      expect(failures).to.deep.equal([])
    })

    it('sets the session cookie Secure, HttpOnly and SameSite when a sign-in starts behind TLS, and never over plain HTTP', async () => {
      const https = await newAgent().get(`${ctx.baseUrl}/auth/borger/login`).set('X-Forwarded-Proto', 'https').redirects(0).ok(() => true)
      expect(https.status, 'redirect to the identity provider').to.be.oneOf([302, 303])
      expect(https.headers.location).to.match(new RegExp(`^${issuerApp.baseUrl}/oidc/`))
      const session = setCookies(https).filter((c) => c.startsWith(`${SESSION_COOKIE}=`))
      expect(session).to.have.length(1)
      expect(cookieProblems(session[0]!, true)).to.deep.equal([])
      expect(headerProblems(https, true)).to.deep.equal([])

      const plain = await newAgent().get(`${ctx.baseUrl}/auth/borger/login`).redirects(0).ok(() => true)
      expect(plain.status).to.be.oneOf([302, 303])
      expect(setCookies(plain).filter((c) => c.startsWith(`${SESSION_COOKIE}=`)), 'no session cookie over plain HTTP').to.deep.equal([])
    })

    it('sets the language cookie Secure, HttpOnly and SameSite', async () => {
      const lang = setCookies(await ctx.get(undefined, '/?lang=en')).filter((c) => c.startsWith('lang='))
      expect(lang).to.have.length(1)
      expect(cookieProblems(lang[0]!, true)).to.deep.equal([])
    })
  })
})
