// Staff sign-in for the soak through the real development OpenID provider of the server under test, as a browser
// does it: /auth/medarbejder/login, the provider's login form (the demo user's Bruger-ID), the callback. Returns the
// session cookie and the session's CSRF token, for the load generator to use from then on.
import { SESSION_COOKIE } from '../../server/setUpWebSession.ts'

export interface StaffSession {
  userId: string
  /** The Cookie request header (the app's session cookie only). */
  cookie: string
  /** The session id (to delete the session afterwards). */
  sid: string
  csrfToken: string
}

/** Cookies by name, as a browser would send them to this one origin (paths and expiry are not needed here). */
class CookieJar {
  private readonly cookies = new Map<string, string>()

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const eq = pair!.indexOf('=')
      if (eq < 0) continue
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attributes.some((a) => {
        const [key, v] = a.trim().split('=', 2)
        if (key!.toLowerCase() === 'max-age') return Number(v) <= 0
        if (key!.toLowerCase() === 'expires') return Date.parse(v ?? '') <= Date.now()
        return false
      })
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }
}

const decodeHtml = (text: string) => text.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&quot;/g, '"')

async function request(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string> | undefined), cookie: jar.header() },
    signal: AbortSignal.timeout(30_000),
  })
  jar.take(response)
  return response
}

/** Follows redirects from `url` until `stop` says so or a page that is not a redirect. */
async function follow(jar: CookieJar, url: string, stop: (url: URL) => boolean): Promise<{ url: string; response?: Response }> {
  let current = url
  for (let hops = 0; hops < 20; hops++) {
    if (stop(new URL(current))) return { url: current }
    const response = await request(jar, current)
    const location = response.headers.get('location')
    if (response.status < 300 || response.status >= 400 || !location) return { url: current, response }
    await response.arrayBuffer()
    current = new URL(location, current).toString()
  }
  throw new Error(`too many redirects from ${url}`)
}

/** The CSRF token of the page's first form (every signed-in page has the Log ud form). */
export function csrfTokenOf(html: string): string | undefined {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
}

/** Signs in demo staff user `userId` (seeders/demoPeople.ts) and reads the CSRF token from `csrfPage`. */
export async function signInStaff(baseUrl: string, userId: string, csrfPage = '/medarbejder'): Promise<StaffSession> {
  const jar = new CookieJar()
  const callbackPath = '/auth/medarbejder/callback'
  const isCallback = (url: URL) => url.pathname === callbackPath
  const fail = (what: string) => new Error(`staff sign-in of ${userId}: ${what}`)

  const start = await request(jar, `${baseUrl}/auth/medarbejder/login`)
  await start.arrayBuffer()
  const authorize = start.headers.get('location')
  if (start.status < 300 || start.status >= 400 || !authorize) throw fail(`the login start answered ${start.status}`)
  let step = await follow(jar, new URL(authorize, baseUrl).toString(), isCallback)
  if (step.response) {
    const html = await step.response.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (step.response.status !== 200 || !action) throw fail(`no login form at the provider (status ${step.response.status})`)
    const posted = await request(jar, new URL(decodeHtml(action), step.url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: userId }).toString(),
    })
    await posted.arrayBuffer()
    const next = posted.headers.get('location')
    if (!next) throw fail(`the provider answered the login form with ${posted.status}`)
    step = await follow(jar, new URL(next, step.url).toString(), isCallback)
    if (step.response) throw fail(`the provider did not return to the app (status ${step.response.status} at ${new URL(step.url).pathname})`)
  }
  const callback = await request(jar, step.url)
  await callback.arrayBuffer()
  const landing = callback.headers.get('location') ?? ''
  if (callback.status !== 302 && callback.status !== 303) throw fail(`the callback answered ${callback.status}`)
  if (!landing.startsWith('/medarbejder')) throw fail(`the callback sent the user to ${landing.split('?')[0]}`)

  const value = jar.get(SESSION_COOKIE)
  if (!value) throw fail('no session cookie after the callback')
  const cookie = `${SESSION_COOKIE}=${value}`
  const page = await fetch(`${baseUrl}${csrfPage}`, { headers: { cookie }, redirect: 'manual', signal: AbortSignal.timeout(30_000) })
  const csrfToken = csrfTokenOf(await page.text())
  if (page.status !== 200 || !csrfToken) throw fail(`${csrfPage} answered ${page.status} without a form`)
  // express-session's cookie: s:<sid>.<signature>, URL-encoded.
  const sid = /^s:([^.]+)\./.exec(decodeURIComponent(value))?.[1]
  if (!sid) throw fail('the session cookie is not a signed session id')
  return { userId, cookie, sid, csrfToken }
}
