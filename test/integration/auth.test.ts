// Sign-in for citizens and staff through the real development OpenID provider, and the attacks on it.
import { expect } from 'chai'
import { generateKeyPair, SignJWT, createLocalJWKSet, exportJWK, decodeJwt } from 'jose'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { authorizeUntilCallback, csrfTokenOf, get, login, newAgent, follow } from '../support/oidcFlow.ts'
import { verifyIdToken } from '../../server/auth/oidcStrategy.ts'
import { SESSION_COOKIE } from '../../server/setUpWebSession.ts'

function sessionId(agent: ReturnType<typeof newAgent>, baseUrl: string): string | undefined {
  const jar = (agent as unknown as { jar: { getCookie(name: string, access: unknown): { value: string } | undefined } }).jar
  const { hostname } = new URL(baseUrl)
  return jar.getCookie(SESSION_COOKIE, { domain: hostname, path: '/', secure: false, script: false })?.value
}

describe('sign-in with OpenID Connect', () => {
  let app: TestApp
  before(async () => {
    app = await startTestApp()
  })
  after(async () => {
    await app.close()
  })

  it('lets citizen anne sign in with MitID and land on her start page, with a new session id', async () => {
    const agent = newAgent()
    // A session that exists before login (the OIDC state lives in it) must not survive the login.
    const { callbackUrl } = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'anne')
    const before = sessionId(agent, app.baseUrl)
    expect(before).to.be.a('string')
    const callback = await get(agent, callbackUrl!)
    expect(callback.status).to.equal(303)
    expect(callback.headers.location).to.equal('/borger')
    expect(sessionId(agent, app.baseUrl)).to.be.a('string').and.not.equal(before)
    const start = await get(agent, `${app.baseUrl}/borger`)
    expect(start.status).to.equal(200)
    expect(start.text).to.contain('Anne Andersen')
    expect(start.text).to.contain('Log ud')
    const logins = await app.services.database.models.AuditEvent.count({ where: { action: 'citizen.login' } })
    expect(logins).to.be.greaterThan(0)
  })

  it('lets staff henrik sign in and land on the staff start page showing his role', async () => {
    const agent = newAgent()
    const { landing } = await login(agent, app.baseUrl, 'staff', 'henrik')
    expect(landing).to.equal('/medarbejder')
    const start = await get(agent, `${app.baseUrl}/medarbejder`)
    expect(start.status).to.equal(200)
    expect(start.text).to.contain('Henrik Holm')
    expect(start.text).to.contain('Region Hovedstadens Biobank')
    const staff = await app.services.database.models.StaffUser.findOne({ where: { name: 'Henrik Holm' } })
    expect(staff?.role).to.equal('biobank_admin')
  })

  it('logs out by POST, ending the local session and the provider session', async () => {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'citizen', 'anne')
    const page = await get(agent, `${app.baseUrl}/borger`)
    const logout = await agent.post(`${app.baseUrl}/auth/logout`).type('form').send({ _csrf: csrfTokenOf(page.text) }).redirects(0).ok(() => true)
    expect(logout.status).to.equal(303)
    const endSession = new URL(logout.headers.location!)
    expect(endSession.pathname).to.equal('/oidc/session/end')
    // The provider asks to confirm; confirming ends its session and returns to our logged-out page.
    const confirm = await follow(agent, app.baseUrl, endSession.toString())
    expect(confirm.response!.status).to.equal(200)
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(confirm.response!.text)!
    const fields = Object.fromEntries([...form[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    const confirmed = await agent.post(new URL(form[1]!.replace(/&amp;/g, '&'), app.baseUrl).toString()).type('form').send({ ...fields, logout: 'yes' }).redirects(0).ok(() => true)
    const end = await follow(agent, app.baseUrl, new URL(confirmed.headers.location!, app.baseUrl).toString())
    expect(new URL(end.url).pathname).to.equal('/auth/logget-ud')
    // Local session gone: the portal asks for login again.
    const after = await get(agent, `${app.baseUrl}/borger`)
    expect(after.status).to.equal(303)
    expect(after.headers.location).to.match(/^\/auth\/borger\/login/)
    // Provider session gone: a new login shows the provider's login page instead of signing straight in.
    const again = await get(agent, `${app.baseUrl}/auth/borger/login`)
    const provider = await follow(agent, app.baseUrl, new URL(again.headers.location!, app.baseUrl).toString())
    expect(provider.response!.status).to.equal(200)
    expect(provider.response!.text).to.contain('Bruger-ID')
  })

  it('refuses a tampered state', async () => {
    const agent = newAgent()
    const { callbackUrl } = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'anne')
    const url = new URL(callbackUrl!)
    url.searchParams.set('state', `${url.searchParams.get('state')}x`)
    const response = await get(agent, url.toString())
    expect(response.status).to.equal(400)
    expect(response.text).to.contain('Log ind igen')
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  it('refuses a replayed callback and a replayed authorization code', async () => {
    const agent = newAgent()
    const first = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'anne')
    expect((await get(agent, first.callbackUrl!)).status).to.equal(303)
    // The same callback URL again: its state is used up.
    expect((await get(agent, first.callbackUrl!)).status).to.equal(400)
    // The old code with a fresh, valid state: the provider refuses to redeem a code twice.
    const other = newAgent()
    const second = await authorizeUntilCallback(other, app.baseUrl, 'citizen', 'anne')
    const replay = new URL(second.callbackUrl!)
    replay.searchParams.set('code', new URL(first.callbackUrl!).searchParams.get('code')!)
    const response = await get(other, replay.toString())
    expect(response.status).to.equal(400)
    expect((await get(other, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  it('refuses an ID token whose nonce is not the one the app sent', async () => {
    const agent = newAgent()
    const { callbackUrl } = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'anne', {
      alterAuthorizeUrl: (url) => url.searchParams.set('nonce', 'chosen-by-an-attacker'),
    })
    const response = await get(agent, callbackUrl!)
    expect(response.status).to.equal(400)
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  it('refuses an authorization request without the PKCE challenge', async () => {
    const agent = newAgent()
    const result = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'anne', {
      alterAuthorizeUrl: (url) => {
        url.searchParams.delete('code_challenge')
        url.searchParams.delete('code_challenge_method')
      },
    })
    // The provider answers the app's callback with an error instead of a code; the app shows its error page.
    const response = result.callbackUrl ? await get(agent, result.callbackUrl) : result.response!
    expect(new URL(result.callbackUrl ?? app.baseUrl).searchParams.get('code')).to.equal(null)
    expect(response.status).to.equal(400)
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  it('verifies the ID token signature: a token signed by another key is refused', async () => {
    const genuine = await generateKeyPair('RS256')
    const forger = await generateKeyPair('RS256')
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(genuine.publicKey)), kid: 'k1', alg: 'RS256' }] })
    const claims = { sub: 'x', nonce: 'n', 'dk.cpr': '1503724518' }
    const sign = (key: Parameters<SignJWT['sign']>[0]) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://op').setAudience('rp').setIssuedAt().setExpirationTime('5m').sign(key)
    const expected = { issuer: 'https://op', audience: 'rp', nonce: 'n' }
    expect(decodeJwt(await sign(genuine.privateKey)).sub).to.equal('x')
    await verifyIdToken(await sign(genuine.privateKey), keys, expected)
    let refused: unknown
    await verifyIdToken(await sign(forger.privateKey), keys, expected).catch((error: unknown) => (refused = error))
    expect(refused).to.be.instanceOf(Error)
    let wrongNonce: unknown
    await verifyIdToken(await sign(genuine.privateKey), keys, { ...expected, nonce: 'other' }).catch((error: unknown) => (wrongNonce = error))
    expect(wrongNonce).to.be.instanceOf(Error)
  })

  it('refuses a citizen with LoA Low with a page that explains why', async () => {
    const agent = newAgent()
    const { callbackUrl } = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'lav')
    const response = await get(agent, callbackUrl!)
    expect(response.status).to.equal(403)
    expect(response.text).to.contain('sikringsniveau')
    // The way out: end the provider's session for lav and sign in as someone else.
    expect(response.text).to.match(/href="[^"]*\/oidc\/session\/end\?client_id=[^"]+"/)
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  for (const evil of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)']) {
    it(`lands on the start page, not on ${evil}, after login`, async () => {
      const agent = newAgent()
      const { landing } = await login(agent, app.baseUrl, 'citizen', 'anne', evil)
      expect(landing).to.equal('/borger')
    })
  }

  it('returns to a same-origin page asked for before login', async () => {
    const agent = newAgent()
    const first = await get(agent, `${app.baseUrl}/borger?vis=alle`)
    expect(first.status).to.equal(303)
    expect(first.headers.location).to.equal('/auth/borger/login?returnTo=%2Fborger%3Fvis%3Dalle')
    const { landing } = await login(agent, app.baseUrl, 'citizen', 'anne', '/borger?vis=alle')
    expect(landing).to.equal('/borger?vis=alle')
  })

  it('refuses a POST without a valid CSRF token with 403', async () => {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'citizen', 'anne')
    const withoutToken = await agent.post(`${app.baseUrl}/auth/logout`).type('form').send({}).redirects(0).ok(() => true)
    expect(withoutToken.status).to.equal(403)
    const wrongToken = await agent.post(`${app.baseUrl}/auth/logout`).type('form').send({ _csrf: 'forged' }).redirects(0).ok(() => true)
    expect(wrongToken.status).to.equal(403)
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(200)
  })

  it('keeps citizens out of staff pages and staff out of citizen pages', async () => {
    const citizen = newAgent()
    await login(citizen, app.baseUrl, 'citizen', 'anne')
    expect((await get(citizen, `${app.baseUrl}/medarbejder`)).status).to.equal(403)
    const staff = newAgent()
    await login(staff, app.baseUrl, 'staff', 'henrik')
    expect((await get(staff, `${app.baseUrl}/borger`)).status).to.equal(403)
  })

  it('does not let a staff identity through the citizen client', async () => {
    const agent = newAgent()
    const result = await authorizeUntilCallback(agent, app.baseUrl, 'citizen', 'henrik')
    expect(result.callbackUrl).to.equal(undefined)
    expect(result.response!.text).to.contain('Ukendt bruger-ID')
  })

  it('rate limits the login routes', async () => {
    const limited = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '3' })
    try {
      const agent = newAgent()
      const statuses: number[] = []
      for (let i = 0; i < 5; i++) statuses.push((await get(agent, `${limited.baseUrl}/auth/borger/login`)).status)
      expect(statuses.slice(0, 3)).to.deep.equal([302, 302, 302])
      expect(statuses.slice(3)).to.deep.equal([429, 429])
    } finally {
      await limited.close()
    }
  })

  it('ends a citizen session after 15 minutes without activity', async () => {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'citizen', 'anne')
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(200)
    // Age the session in the store as 16 minutes of silence would.
    const sid = decodeURIComponent(sessionId(agent, app.baseUrl)!).replace(/^s:/, '').split('.')[0]!
    await app.services.database.pool.query(
      `update sessions set sess = jsonb_set(sess::jsonb, '{lastSeenAt}', to_jsonb((extract(epoch from now()) * 1000)::bigint - 16 * 60 * 1000))::json where sid = $1`,
      [sid],
    )
    const response = await get(agent, `${app.baseUrl}/borger`)
    expect(response.status).to.equal(303)
    expect(response.headers.location).to.equal('/auth/udloebet?kind=citizen')
    expect((await get(agent, `${app.baseUrl}/borger`)).status).to.equal(303)
  })

  it('never writes the CPR number or a token into the session store', async () => {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'citizen', 'anne')
    const { rows } = await app.services.database.pool.query<{ sess: string }>('select sess::text as sess from sessions')
    const all = rows.map((r) => r.sess).join('\n')
    expect(all).to.not.contain('1503724518')
    expect(all).to.not.match(/eyJ[A-Za-z0-9_-]{10,}\./)
  })
})
