// Research release in a real Chromium: a biobank admin registers a project (a form with mistakes first), checks a
// pasted list and reads the answer; every page axe-clean (WCAG 2.1 A/AA), without console errors or CSP violations,
// and without sideways scrolling at 360 px.
import { expect } from 'chai'
import type { Browser, Page } from 'playwright-core'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { expectNoAxeViolations, launchBrowser, openPage, pageWidth, type OpenedPage, type PageWatch, type ViewportName } from './harness.ts'

describe('research release in the browser', function () {
  let app: TestApp
  let browser: Browser
  let opened: OpenedPage | undefined

  before(async function () {
    this.timeout(120_000)
    app = await startTestApp()
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await app?.close()
  })
  afterEach(async () => {
    const context = opened?.context
    opened = undefined
    await context?.close()
  })

  async function checkPage(page: Page, watch: PageWatch, what: string): Promise<void> {
    await expectNoAxeViolations(page, what)
    watch.expectNoProblems()
    const { scrollWidth, innerWidth } = await pageWidth(page)
    expect(scrollWidth, `${what}: page width against window width`).to.be.at.most(innerWidth)
  }

  async function signInHenrik(viewport: ViewportName): Promise<OpenedPage> {
    const session = await openPage(browser, viewport)
    const { page } = session
    await page.goto(`${app.baseUrl}/auth/medarbejder/login?returnTo=${encodeURIComponent('/medarbejder/forskning')}`, { waitUntil: 'load' })
    await page.getByLabel('Bruger-ID').fill('henrik')
    await page.getByRole('button', { name: 'Log ind', exact: true }).click()
    await page.waitForURL(`${app.baseUrl}/medarbejder/forskning`, { waitUntil: 'load' })
    return session
  }

  for (const viewport of ['desktop', 'phone'] as const) {
    it(`registers a project and shows the answer of a check, every page accessible (${viewport})`, async () => {
      opened = await signInHenrik(viewport)
      const { page, watch } = opened
      const reference = `VEK-BROWSER-${viewport}`
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Forskningsudtræk')
      await checkPage(page, watch, `the research start page (${viewport})`)

      await page.getByRole('link', { name: 'Registrér et nyt projekt' }).click()
      await page.waitForURL(`${app.baseUrl}/medarbejder/forskning/projekter/ny`, { waitUntil: 'load' })
      await checkPage(page, watch, `the project form (${viewport})`)

      // Sent empty: the form comes back (400) with an error summary linking to the fields.
      watch.allow(/status of 400 .*\/medarbejder\/forskning\/projekter:/)
      await page.getByRole('button', { name: 'Registrér projektet' }).click()
      await page.waitForLoadState('load')
      expect(await page.getByRole('alert').textContent()).to.contain('Skriv projektets titel')
      await checkPage(page, watch, `the project form with errors (${viewport})`)
      await page.getByRole('link', { name: 'Vælg, hvad projektet skal bruge.' }).click()
      expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).to.equal('purpose-0')

      await page.getByLabel('Projektets titel').fill('Brystkræft og plasma')
      await page.getByLabel('Projektets reference').fill(reference)
      await page.getByLabel('Godkendelse').fill('H-26012345')
      await page.getByLabel('Biologisk materiale og genetiske data').check()
      await page.getByLabel('DUO-kode (valgfri)').selectOption('HMB')
      await page.getByRole('button', { name: 'Registrér projektet' }).click()
      await page.waitForURL(/\/medarbejder\/forskning\/projekter\/\d+$/, { waitUntil: 'load' })
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Brystkræft og plasma')
      await checkPage(page, watch, `the project page (${viewport})`)

      await page.getByLabel('Indsæt etiketter').fill('RH-2024-000123\nRH-2024-000123-01\nRH-2024-000123-03, FINDES-IKKE')
      await page.getByRole('button', { name: 'Tjek listen' }).click()
      await page.waitForURL(/\/medarbejder\/forskning\/tjek\/[0-9a-f-]{36}$/, { waitUntil: 'load' })
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.match(/^Svar: \d+ af 4 prøver må udleveres$/)
      await checkPage(page, watch, `the answer page (${viewport})`)

      // The project page lists the check, and the API keys page is accessible too.
      await page.getByRole('link', { name: 'Tilbage til projektet' }).click()
      await page.waitForLoadState('load')
      expect(await page.getByRole('link', { name: /^Se svaret/ }).count()).to.equal(1)
      await checkPage(page, watch, `the project page with a check (${viewport})`)
      await page.goto(`${app.baseUrl}/medarbejder/forskning/api-noegler`, { waitUntil: 'load' })
      await checkPage(page, watch, `the API keys page (${viewport})`)
      await page.getByLabel('Navn på integrationen').fill(`LIMS ${viewport}`)
      await page.getByRole('button', { name: 'Opret nøgle' }).click()
      await page.waitForLoadState('load')
      expect(await page.getByLabel(`API-nøgle til LIMS ${viewport}`).inputValue()).to.match(/^bbr_/)
      await checkPage(page, watch, `the API keys page with a new key (${viewport})`)
      await page.goto(`${app.baseUrl}/medarbejder/forskning/soegning`, { waitUntil: 'load' })
      await checkPage(page, watch, `the search criteria form (${viewport})`)
    })
  }
})
