// The front page, the English version and the accessibility statement in a real Chromium: no axe violations at
// desktop and phone width, the skip link works by keyboard, the DKFDS styles and fonts load, nothing breaks the CSP.
import { expect } from 'chai'
import type { Browser } from 'playwright-core'
import type { TestApp } from '../support/testApp.ts'
import {
  designSystemState,
  expectNoAxeViolations,
  expectNoCprInUrls,
  focusedElement,
  openPage,
  pageWidth,
  viewports,
  type OpenedPage,
  type ViewportName,
  startAppAndBrowser,
} from './harness.ts'

describe('front page in the browser', function () {
  let app: TestApp
  let browser: Browser
  let opened: OpenedPage | undefined

  startAppAndBrowser((started) => ({ app, browser } = started))

  afterEach(async function () {
    if (!opened) return
    const { context, watch } = opened
    opened = undefined
    await context.close()
    // A console error, an uncaught exception or a CSP violation fails the test that caused it.
    if (this.currentTest?.state === 'passed') {
      watch.expectNoProblems()
      expectNoCprInUrls(watch)
    }
  })

  for (const viewport of Object.keys(viewports) as ViewportName[]) {
    describe(`at ${viewport} width (${viewports[viewport].width} px)`, () => {
      it('has no axe violations, in Danish and in English, and on the accessibility statement', async () => {
        opened = await openPage(browser, viewport)
        const { page } = opened
        await page.goto(`${app.baseUrl}/`, { waitUntil: 'load' })
        expect(await page.getAttribute('html', 'lang')).to.equal('da')
        expect(await page.title()).to.equal('Dine prøver i biobankerne – Biobankregisteret')
        await expectNoAxeViolations(page, `the Danish front page at ${viewport} width`)

        // The language switch is a plain link in the header.
        await page.getByRole('link', { name: 'English' }).click()
        await page.waitForURL(/\?lang=en$/)
        expect(await page.getAttribute('html', 'lang')).to.equal('en')
        expect(await page.getByRole('link', { name: 'Log in with MitID' }).isVisible()).to.equal(true)
        await expectNoAxeViolations(page, `the English front page at ${viewport} width`)

        // The choice sticks: the footer link leads to the statement in English.
        await page.getByRole('link', { name: 'Accessibility statement' }).click()
        await page.waitForURL(/\/tilgaengelighed$/)
        expect(await page.getAttribute('html', 'lang')).to.equal('en')
        expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Accessibility statement')
        await expectNoAxeViolations(page, `the English accessibility statement at ${viewport} width`)

        await page.getByRole('link', { name: 'Dansk' }).click()
        await page.waitForURL(/\?lang=da$/)
        expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Tilgængelighedserklæring')
        await expectNoAxeViolations(page, `the Danish accessibility statement at ${viewport} width`)
      })

      it('fits the screen without sideways scrolling', async () => {
        opened = await openPage(browser, viewport)
        const { page } = opened
        await page.goto(`${app.baseUrl}/`, { waitUntil: 'load' })
        const { scrollWidth, innerWidth } = await pageWidth(page)
        expect(scrollWidth).to.be.at.most(innerWidth)
        // Both ways in and the language switch are visible without opening any menu.
        for (const name of ['Log ind med MitID', 'For medarbejdere', 'English']) {
          expect(await page.getByRole('link', { name, exact: true }).isVisible(), name).to.equal(true)
        }
      })
    })
  }

  it('the skip link is the first Tab stop and Enter moves focus to the main content', async () => {
    opened = await openPage(browser, 'desktop')
    const { page } = opened
    await page.goto(`${app.baseUrl}/`, { waitUntil: 'load' })

    await page.keyboard.press('Tab')
    const skip = await focusedElement(page)
    expect(skip).to.include({ tag: 'a', className: 'skipnav', text: 'Gå til indhold' })
    // Hidden until focused, then on screen (DKFDS slides it in, so wait for the slide to end).
    for (let tries = 0; tries < 50 && ((await page.locator('a.skipnav').boundingBox())?.y ?? -1) < 0; tries++) await page.waitForTimeout(20)
    const box = await page.locator('a.skipnav').boundingBox()
    expect(box, 'skip link box').not.to.equal(null)
    expect(box!.y).to.be.at.least(0)

    await page.keyboard.press('Enter')
    await page.waitForURL(/#main-content$/)
    expect(await focusedElement(page)).to.include({ tag: 'main', id: 'main-content' })

    // The next Tab continues inside the main content, not back in the header.
    await page.keyboard.press('Tab')
    expect(await focusedElement(page)).to.include({ tag: 'a', text: 'Log ind med MitID' })
  })

  it('loads the DKFDS styles, the IBM Plex Sans font and the DKFDS script', async () => {
    opened = await openPage(browser, 'desktop')
    const { page } = opened
    await page.goto(`${app.baseUrl}/`, { waitUntil: 'load' })
    const state = await designSystemState(page, 'a.button-primary')
    expect(state.bodyFontFamily).to.match(/IBM Plex Sans/)
    expect(state.fontLoaded, 'IBM Plex Sans loaded').to.equal(true)
    expect(state.backgroundColor, 'DKFDS primary button').to.equal('rgb(69, 69, 69)')
    expect(state.dkfdsInit).to.equal('function')
    await page.screenshot({ path: '/tmp/front.png', fullPage: true })
  })

  it('the not-found page is accessible too', async () => {
    opened = await openPage(browser, 'phone')
    const { page, watch } = opened
    watch.allow(/status of 404/)
    const response = await page.goto(`${app.baseUrl}/findes-ikke`, { waitUntil: 'load' })
    expect(response?.status()).to.equal(404)
    expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Siden blev ikke fundet')
    await expectNoAxeViolations(page, 'the not-found page')
  })
})
