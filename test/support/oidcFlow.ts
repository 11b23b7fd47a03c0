// Drives the real OpenID Connect flow through the bundled development provider, one redirect at a time, so a test
// can look at (or tamper with) every step.
import request from 'superagent'

export type Agent = ReturnType<typeof request.agent>
export type Kind = 'citizen' | 'staff'

export const loginPath: Record<Kind, string> = { citizen: '/auth/borger/login', staff: '/auth/medarbejder/login' }
export const callbackPath: Record<Kind, string> = { citizen: '/auth/borger/callback', staff: '/auth/medarbejder/callback' }

export function newAgent(): Agent {
  return request.agent()
}

export async function get(agent: Agent, url: string) {
  return agent.get(url).redirects(0).ok(() => true)
}

function absolute(baseUrl: string, location: string): string {
  return new URL(location, baseUrl).toString()
}

/** Follows redirects from `url` until `stop(url)` says so, or a page that is not a redirect; returns that URL and response. */
export async function follow(agent: Agent, baseUrl: string, url: string, stop: (url: URL) => boolean = () => false) {
  let current = url
  for (let hops = 0; hops < 20; hops++) {
    if (stop(new URL(current))) return { url: current, response: undefined }
    const response = await get(agent, current)
    if (response.status < 300 || response.status >= 400 || !response.headers.location) return { url: current, response }
    current = absolute(current, response.headers.location)
  }
  throw new Error(`too many redirects from ${url} (base ${baseUrl})`)
}

/** The first form on the provider's login page posts the typed Bruger-ID. */
export async function submitLogin(agent: Agent, pageUrl: string, html: string, userId: string) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
  if (!action) throw new Error('no login form on the page')
  return agent.post(absolute(pageUrl, action.replace(/&amp;/g, '&'))).type('form').send({ login: userId }).redirects(0).ok(() => true)
}

/**
 * Starts a login at the app, signs in as `userId` at the provider and stops just before the app's callback, whose
 * URL (with `code` and `state`) is returned for the test to call, alter or replay.
 */
export async function authorizeUntilCallback(agent: Agent, baseUrl: string, kind: Kind, userId: string, options: { returnTo?: string; alterAuthorizeUrl?: (url: URL) => void } = {}) {
  const start = await get(agent, `${baseUrl}${loginPath[kind]}${options.returnTo !== undefined ? `?returnTo=${encodeURIComponent(options.returnTo)}` : ''}`)
  if (start.status !== 302 && start.status !== 303) throw new Error(`login start answered ${start.status}`)
  const authorizeUrl = new URL(start.headers.location!, baseUrl)
  options.alterAuthorizeUrl?.(authorizeUrl)
  const isCallback = (url: URL) => url.pathname === callbackPath[kind]
  const page = await follow(agent, baseUrl, authorizeUrl.toString(), isCallback)
  if (!page.response) return { callbackUrl: page.url, authorizeUrl }
  if (page.response.status !== 200) return { callbackUrl: undefined, authorizeUrl, response: page.response }
  const posted = await submitLogin(agent, page.url, page.response.text, userId)
  if (!posted.headers.location) return { callbackUrl: undefined, authorizeUrl, response: posted }
  const end = await follow(agent, baseUrl, absolute(page.url, posted.headers.location), isCallback)
  return { callbackUrl: end.response ? undefined : end.url, authorizeUrl, response: end.response }
}

/** The whole login: ends signed in, on the page the app redirected to after its callback. */
export async function login(agent: Agent, baseUrl: string, kind: Kind, userId: string, returnTo?: string) {
  const { callbackUrl } = await authorizeUntilCallback(agent, baseUrl, kind, userId, { returnTo })
  if (!callbackUrl) throw new Error(`login of ${userId} did not reach the callback`)
  const callback = await get(agent, callbackUrl)
  return { callback, landing: callback.headers.location }
}

/** The CSRF token of the page's first form (every signed-in page has the Log ud form). */
export function csrfTokenOf(html: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error('no CSRF token on the page')
  return token
}
