// The CSV import in a real Chromium: a registrar (signed in through the real provider) opens the import page, chooses a file with errors and
// presses "Prøvekør"; the page of the running job reloads itself (a meta refresh, no script) until the report of
// every bad row appears. The form and the report have no axe violations (WCAG 2.1 A/AA), at desktop and 360 px width,
// with no sideways scrolling, no console error or CSP violation, and no CPR number in any URL.
import { expect } from 'chai'
import type { Browser, Page } from 'playwright-core'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { login, newAgent } from '../support/oidcFlow.ts'
import { SESSION_COOKIE } from '../../server/setUpWebSession.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { IMPORT_COLUMNS } from '../../server/services/import/format.ts'
import { expectNoAxeViolations, expectNoCprInUrls, launchBrowser, openPage, pageWidth, type OpenedPage, type ViewportName } from './harness.ts'

describe('staff CSV import in the browser', function () {
  let app: TestApp
  let browser: Browser
  let opened: OpenedPage | undefined

  before(async function () {
    this.timeout(120_000) // the first run builds the test database template
    app = await startTestApp()
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await app?.services.imports.idle()
    await app?.close()
  })

  afterEach(async () => {
    const context = opened?.context
    opened = undefined
    await context?.close()
  })

  /**
   * Signs stine in through the real provider with an HTTP client and hands the session cookie to the browser, then
   * opens the import page. (In the browser itself, Chromium follows the login's redirect as soon as its headers
   * arrive, and under load has been seen to get there before the session's sign-in time was saved, landing on
   * "Du er blevet logget ud". That race is in the sign-in, not in the import this file tests.)
   */
  async function signInAsStine(page: Page): Promise<void> {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'staff', 'stine')
    const jar = (agent as unknown as { jar: { getCookie(name: string, access: unknown): { value: string } | undefined } }).jar
    const cookie = jar.getCookie(SESSION_COOKIE, { domain: new URL(app.baseUrl).hostname, path: '/', secure: false, script: false })
    if (!cookie) throw new Error('no session cookie after sign-in')
    await page.context().addCookies([{ name: SESSION_COOKIE, value: cookie.value, url: app.baseUrl }])
    await page.goto(`${app.baseUrl}/medarbejder/import`, { waitUntil: 'load' })
    expect(new URL(page.url()).pathname).to.equal('/medarbejder/import')
  }

  /** A file with one good row and two bad ones (an unknown material, a CPR number that is not a date). */
  function badFile(): Buffer {
    const anne = demoCitizen('anne').cpr
    const row = (label: string, cpr: string, material: string, position: string) =>
      [label, cpr, material, '2025-06-01T09:30', '-60to-85', '', '4.5', 'mL', `BROWSER/R1/B1/${position}`, '', 'C50.9', ''].join(';')
    return Buffer.from(`${IMPORT_COLUMNS.join(';')}\n${row('BR-1', anne, 'whole-blood', 'P1')}\n${row('BR-2', anne, 'blod', 'P2')}\n${row('BR-3', '3102724518', 'serum', 'P3')}\n`)
  }

  for (const viewport of ['desktop', 'phone'] as ViewportName[]) {
    it(`reports every bad row of a dry run on an accessible page (${viewport})`, async function () {
      this.timeout(60_000)
      opened = await openPage(browser, viewport)
      const { page, watch } = opened
      await signInAsStine(page)
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Importér prøver fra en CSV-fil')
      await expectNoAxeViolations(page, `the import form at ${viewport} width`)

      await page.getByLabel('CSV-fil').setInputFiles({ name: 'prøver.csv', mimeType: 'text/csv', buffer: badFile() })
      await page.getByRole('button', { name: 'Prøvekør (gemmer intet)' }).click()
      await page.waitForURL(/\/medarbejder\/import\/[0-9a-f]{32}$/)
      // The running page reloads itself every two seconds until the report is there.
      await page.getByRole('heading', { level: 1, name: 'Prøvekørslen fandt fejl' }).waitFor({ timeout: 30_000 })
      await page.waitForLoadState('load')

      const rows = await page.locator('table.import-issues tbody tr').evaluateAll((trs) =>
        trs.map((tr) => (tr as unknown as { innerText: string }).innerText.split('\t').map((cell) => cell.trim())),
      )
      expect(rows.map(([row, column]) => [row, column])).to.deep.equal([
        ['3', 'material_type'],
        ['4', 'donor_cpr'],
      ])
      expect(await page.getByRole('alert').first().textContent()).to.contain('intet er gemt')
      expect(await page.locator('main').textContent()).not.to.contain('3102724518')
      await expectNoAxeViolations(page, `the dry-run report at ${viewport} width`)
      const { scrollWidth, innerWidth } = await pageWidth(page)
      expect(scrollWidth, 'no sideways scrolling').to.be.at.most(innerWidth)

      watch.expectNoProblems()
      expectNoCprInUrls(watch)
    })
  }

  it('shows the form with an error summary linked to the file field when no file was chosen', async function () {
    this.timeout(60_000)
    opened = await openPage(browser, 'desktop')
    const { page, watch } = opened
    // The form is sent without a file on purpose; Chromium logs the 400 answer as a failed resource.
    watch.allow(/status of 400/)
    await signInAsStine(page)
    await page.getByRole('button', { name: 'Importér', exact: true }).click()
    await page.waitForLoadState('load')
    expect(await page.title()).to.equal('Fejl: Importér prøver fra en CSV-fil – Biobankregisteret')
    await page.getByRole('link', { name: 'Vælg den CSV-fil, du vil importere.' }).click()
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).to.equal('import-file')
    await expectNoAxeViolations(page, 'the import form with an error')
    watch.expectNoProblems()
  })
})
