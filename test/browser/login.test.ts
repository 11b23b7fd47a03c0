// Citizen sign-in and sign-out in a real Chromium through the bundled development OpenID provider (MitID's stand-in):
// by mouse at desktop width and by keyboard alone at 360 px, every page on the way axe-clean (WCAG 2.1 A/AA), no
// console error or CSP violation, and no demo citizen's CPR number in any URL the browser visits or requests.
import { expect } from 'chai'
import type { Browser, Page } from 'playwright-core'
import type { TestApp } from '../support/testApp.ts'
import { demoCitizens } from '../../seeders/demoPeople.ts'
import {
  expectNoAxeViolations,
  expectNoCprInUrls,
  focusedElement,
  openPage,
  pageWidth,
  type OpenedPage,
  type PageWatch,
  startAppAndBrowser,
} from './harness.ts'

/** Every demo citizen's CPR number as it could appear in a URL: DDMMYYSSSS, DDMMYY-SSSS and DDMMYY%2DSSSS. */
const demoCprForms = demoCitizens.flatMap(({ cpr }) => [cpr, `${cpr.slice(0, 6)}-${cpr.slice(6)}`, `${cpr.slice(0, 6)}%2D${cpr.slice(6)}`])

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** No demo CPR number (any spelling) and nothing shaped like a CPR number in any URL visited or requested. */
function expectNoDemoCprInUrls(watch: PageWatch): void {
  const urls = [...new Set([...watch.visitedUrls, ...watch.requestedUrls])]
  const leaking = urls.filter((url) => {
    const decoded = (() => {
      try {
        return decodeURIComponent(url)
      } catch {
        return url
      }
    })()
    return demoCprForms.some((form) => url.toLowerCase().includes(form.toLowerCase()) || decoded.includes(form))
  })
  expect(leaking, 'URLs holding a demo citizen CPR number').to.deep.equal([])
  expectNoCprInUrls(watch)
}

/** The checks every page of the journey must pass: axe WCAG 2.1 A/AA, and no console error or CSP violation so far. */
async function checkPage(page: Page, watch: PageWatch, what: string): Promise<void> {
  await expectNoAxeViolations(page, what)
  watch.expectNoProblems()
}

/** No sideways scrolling at the current width (WCAG 1.4.10 Reflow). */
async function expectNoSidewaysScrolling(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await pageWidth(page)
  expect(scrollWidth, `${what}: page width against window width`).to.be.at.most(innerWidth)
}

describe('citizen login in the browser', function () {
  let app: TestApp
  let browser: Browser
  let opened: OpenedPage | undefined

  // The app's own pages and the provider's pages, as URL patterns to wait for.
  const at = {
    front: () => `${app.baseUrl}/`,
    providerLogin: () => new RegExp(`^${escapeRegExp(app.baseUrl)}/oidc/interaction/[^/?#]+$`),
    providerLogout: () => new RegExp(`^${escapeRegExp(app.baseUrl)}/oidc/session/end(?:\\?|$)`),
    start: () => `${app.baseUrl}/borger`,
    loggedOut: () => `${app.baseUrl}/auth/logget-ud`,
    callback: () => new RegExp(`^${escapeRegExp(app.baseUrl)}/auth/borger/callback\\?`),
  }

  startAppAndBrowser((started) => ({ app, browser } = started))

  afterEach(async () => {
    // The checks run inside each test (so a failure names the test); here the context is only closed.
    const context = opened?.context
    opened = undefined
    await context?.close()
  })

  /** Front page → "Log ind med MitID" → provider login page, by mouse, each page checked. */
  async function openProviderLoginByMouse(page: Page, watch: PageWatch, viewport: string): Promise<void> {
    await page.goto(at.front(), { waitUntil: 'load' })
    await checkPage(page, watch, `the front page at ${viewport} width`)
    await page.getByRole('link', { name: 'Log ind med MitID', exact: true }).click()
    await page.waitForURL(at.providerLogin(), { waitUntil: 'load' })
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Log ind med MitID (demo)')
    await checkPage(page, watch, `the provider's login page at ${viewport} width`)
  }

  /** On the provider login page: type the user id into "Bruger-ID" and press "Log ind" with the mouse. */
  async function submitUserIdByMouse(page: Page, userId: string): Promise<void> {
    const field = page.getByLabel('Bruger-ID')
    await field.click()
    await field.pressSequentially(userId)
    expect(await field.inputValue()).to.equal(userId)
    await page.getByRole('button', { name: 'Log ind', exact: true }).click()
  }

  /** The citizen start page, signed in as Anne Andersen, with a visible "Log ud" button. */
  async function expectAnnesStartPage(page: Page, watch: PageWatch, viewport: string): Promise<void> {
    await page.waitForURL(at.start(), { waitUntil: 'load' })
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Velkommen, Anne Andersen')
    expect(await page.locator('header').getByText('Anne Andersen', { exact: true }).isVisible(), 'name in the header').to.equal(true)
    expect(await page.getByRole('button', { name: 'Log ud', exact: true }).isVisible(), 'Log ud button').to.equal(true)
    await checkPage(page, watch, `the citizen start page at ${viewport} width`)
  }

  /** Presses Tab until the focused element matches, failing after `limit` presses. Returns the number of presses. */
  async function tabTo(page: Page, what: string, matches: (focused: Awaited<ReturnType<typeof focusedElement>>) => boolean, limit = 25): Promise<number> {
    for (let presses = 1; presses <= limit; presses++) {
      await page.keyboard.press('Tab')
      if (matches(await focusedElement(page))) return presses
    }
    return expect.fail(`${what} was not reached within ${limit} presses of Tab`)
  }

  it('a citizen logs in with the mouse: front page → MitID (demo) → start page showing her name and Log ud', async () => {
    opened = await openPage(browser, 'desktop')
    const { page, watch } = opened
    await openProviderLoginByMouse(page, watch, 'desktop')
    await submitUserIdByMouse(page, 'anne')
    await expectAnnesStartPage(page, watch, 'desktop')

    // The route went through the provider and back through the app's callback (a redirect, so a request rather than
    // a visited page); no step leaked a CPR number.
    expect(watch.requestedUrls.some((url) => at.callback().test(url)), 'passed the app callback').to.equal(true)
    watch.expectNoProblems()
    expectNoDemoCprInUrls(watch)
  })

  it('a citizen logs in with the keyboard alone at 360 px width', async () => {
    opened = await openPage(browser, 'phone')
    const { page, watch } = opened
    expect(page.viewportSize()?.width).to.equal(360)

    await page.goto(at.front(), { waitUntil: 'load' })
    await checkPage(page, watch, 'the front page at 360 px')
    await expectNoSidewaysScrolling(page, 'the front page at 360 px')
    await tabTo(page, 'the "Log ind med MitID" link', (f) => f.tag === 'a' && f.text === 'Log ind med MitID')
    await page.keyboard.press('Enter')
    await page.waitForURL(at.providerLogin(), { waitUntil: 'load' })
    await checkPage(page, watch, "the provider's login page at 360 px")
    await expectNoSidewaysScrolling(page, "the provider's login page at 360 px")

    // The user-id field is reachable by Tab, and it is the field labelled "Bruger-ID".
    await tabTo(page, 'the Bruger-ID field', (f) => f.tag === 'input' && f.id === 'login')
    expect(await page.getByLabel('Bruger-ID').getAttribute('id')).to.equal('login')
    await page.keyboard.type('anne')
    expect(await page.getByLabel('Bruger-ID').inputValue()).to.equal('anne')
    // The next Tab stop is the "Log ind" button; Enter presses it.
    await page.keyboard.press('Tab')
    expect(await focusedElement(page)).to.include({ tag: 'button', text: 'Log ind' })
    await page.keyboard.press('Enter')
    await expectAnnesStartPage(page, watch, '360 px')
    await expectNoSidewaysScrolling(page, 'the citizen start page at 360 px')

    // "Log ud" is reachable by keyboard on the start page too.
    await tabTo(page, 'the "Log ud" button', (f) => f.tag === 'button' && f.text === 'Log ud')

    watch.expectNoProblems()
    expectNoDemoCprInUrls(watch)
  })

  it('Log ud goes through the provider\'s confirmation to "Du er logget ud", and /borger then asks for login again', async () => {
    opened = await openPage(browser, 'desktop')
    const { page, watch } = opened
    await openProviderLoginByMouse(page, watch, 'desktop')
    await submitUserIdByMouse(page, 'anne')
    await expectAnnesStartPage(page, watch, 'desktop')

    await page.getByRole('button', { name: 'Log ud', exact: true }).click()
    await page.waitForURL(at.providerLogout(), { waitUntil: 'load' })
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Log ud')
    await checkPage(page, watch, "the provider's logout confirmation")

    await page.getByRole('button', { name: 'Log ud', exact: true }).click()
    await page.waitForURL(at.loggedOut(), { waitUntil: 'load' })
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Du er logget ud')
    // The app's own page (its header and footer), not the provider's fallback page.
    expect(await page.title()).to.equal('Du er logget ud – Biobankregisteret')
    expect(await page.getByRole('button', { name: 'Log ud' }).count(), 'no Log ud button once logged out').to.equal(0)
    await checkPage(page, watch, 'the app\'s "Du er logget ud" page')

    // Both sessions are gone: /borger sends the browser to the provider's login page, not straight back in.
    await page.goto(at.start(), { waitUntil: 'load' })
    await page.waitForURL(at.providerLogin(), { waitUntil: 'load' })
    expect(await page.getByLabel('Bruger-ID').isVisible()).to.equal(true)
    await checkPage(page, watch, "the provider's login page after logging out")

    watch.expectNoProblems()
    expectNoDemoCprInUrls(watch)
  })

  it('refuses lav (MitID LoA Low) with a Danish page that explains the sikringsniveau', async () => {
    opened = await openPage(browser, 'desktop')
    const { page, watch } = opened
    // The refusal is a 403 document; Chromium logs that as a failed resource, which is expected here and only here.
    watch.allow(/status of 403 .*\/auth\/borger\/callback\?/)
    await openProviderLoginByMouse(page, watch, 'desktop')

    const response = page.waitForResponse((r) => at.callback().test(r.url()))
    await submitUserIdByMouse(page, 'lav')
    expect((await response).status()).to.equal(403)
    await page.waitForURL(at.callback(), { waitUntil: 'load' })
    expect(await page.getAttribute('html', 'lang')).to.equal('da')
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Du kan ikke logge ind her')
    expect(await page.getByRole('alert').textContent()).to.contain('sikringsniveau')
    expect(await page.locator('main').textContent()).to.contain('sikringsniveau betydelig')
    expect(await page.getByRole('button', { name: 'Log ud' }).count(), 'not signed in').to.equal(0)
    await checkPage(page, watch, 'the LoA refusal page')

    // Not signed in: /borger asks for login (the provider still has lav's session, so it is the refusal again).
    const again = page.waitForResponse((r) => at.callback().test(r.url()))
    await page.goto(at.start())
    expect((await again).status()).to.equal(403)
    await page.waitForURL(at.callback(), { waitUntil: 'load' })
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Du kan ikke logge ind her')

    watch.expectNoProblems()
    expectNoDemoCprInUrls(watch)
  })
})
