// Find samples in a real Chromium: the search page with results, with errors, and with a CPR search's results is
// axe-clean (WCAG 2.1 A/AA) at desktop width and at 360 px without sideways scrolling; the keyboard reaches the
// criteria, the result checkboxes and the page links; and the CPR number never appears in a URL.
import { expect } from 'chai'
import type { Browser, Page } from 'playwright-core'
import type { TestApp } from '../support/testApp.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { expectNoAxeViolations, expectNoCprInUrls, focusedElement, openPage, pageWidth, type OpenedPage, type PageWatch, type ViewportName, startAppAndBrowser } from './harness.ts'

describe('find samples in the browser', function () {
  let app: TestApp
  let browser: Browser
  let opened: OpenedPage | undefined

  startAppAndBrowser((started) => ({ app, browser } = started))

  afterEach(async () => {
    const context = opened?.context
    opened = undefined
    await context?.close()
  })

  /** Signs in as a demo staff user through the development provider and lands on the search page. */
  async function signInToSearch(viewport: ViewportName, userId: string): Promise<OpenedPage> {
    opened = await openPage(browser, viewport)
    const { page } = opened
    await page.goto(`${app.baseUrl}/auth/medarbejder/login?returnTo=${encodeURIComponent('/medarbejder/soeg')}`, { waitUntil: 'load' })
    await page.getByLabel('Bruger-ID').fill(userId)
    await page.getByRole('button', { name: 'Log ind', exact: true }).click()
    await page.waitForURL(`${app.baseUrl}/medarbejder/soeg`, { waitUntil: 'load' })
    return opened
  }

  async function checkPage(page: Page, watch: PageWatch, what: string): Promise<void> {
    await expectNoAxeViolations(page, what)
    const { scrollWidth, innerWidth } = await pageWidth(page)
    expect(scrollWidth, `${what}: page width against window width`).to.be.at.most(innerWidth)
    watch.expectNoProblems()
  }

  for (const viewport of ['desktop', 'phone'] as const) {
    it(`the search page with results, with errors and with CPR results has no axe violations (${viewport})`, async () => {
      const { page, watch } = await signInToSearch(viewport, 'henrik')
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Find prøver')
      expect(await page.locator('input[name="sample"]').count()).to.equal(50)
      await checkPage(page, watch, `the search page with results (${viewport})`)

      // Criteria by mouse: material type and a date range, then the next page.
      await page.getByLabel('Materialetype').selectOption({ label: 'Plasma' })
      await page.getByLabel('Udtaget fra og med').fill('2015-01-01')
      await page.getByRole('button', { name: 'Søg', exact: true }).click()
      await page.waitForURL(/materialType=plasma/, { waitUntil: 'load' })
      const rows = await page.locator('tbody tr').count()
      expect(rows).to.be.greaterThan(0)
      await checkPage(page, watch, `plasma results (${viewport})`)

      // Errors: the summary links to the field, the field says what is wrong (a 400 page, which Chromium logs).
      watch.allow(/status of 400/)
      await page.goto(`${app.baseUrl}/medarbejder/soeg?collectedFrom=2024-05-01&collectedTo=2024-04-01`, { waitUntil: 'load' })
      expect(await page.getByRole('alert').textContent()).to.contain('Til-datoen skal være samme dag som fra-datoen eller senere.')
      await checkPage(page, watch, `the search page with errors (${viewport})`)

      // CPR search: posted, answered directly, the number shown masked only.
      await page.getByRole('textbox', { name: 'CPR-nummer', exact: true }).fill(demoCitizen('anne').cpr)
      await page.getByRole('button', { name: 'Søg på CPR-nummer' }).click()
      await page.waitForURL(`${app.baseUrl}/medarbejder/soeg/cpr`, { waitUntil: 'load' })
      expect(await page.getByRole('heading', { level: 2, name: /Prøver for CPR-nummer/ }).textContent()).to.equal('Prøver for CPR-nummer 150372-****')
      expect(await page.locator('tbody tr').count()).to.equal(5)
      expect(await page.getByRole('textbox', { name: 'CPR-nummer', exact: true }).inputValue()).to.equal('')
      await checkPage(page, watch, `CPR results (${viewport})`)
      expectNoCprInUrls(watch)
    })
  }

  it('works with the keyboard alone: criteria, a result checkbox, and the next page', async () => {
    const { page, watch } = await signInToSearch('phone', 'stine')
    // From the label field onwards by Tab, to the material type select.
    await page.getByLabel('Etiket').focus()
    await page.keyboard.press('Tab')
    expect(await focusedElement(page)).to.include({ tag: 'select', id: 'search-materialType' })
    // Into the results: the first checkbox is reached by Tab and ticked with Space.
    await page.locator('#search-cpr').focus()
    for (let presses = 0; presses < 10 && (await focusedElement(page)).tag !== 'input'; presses++) await page.keyboard.press('Tab')
    let focused = await focusedElement(page)
    for (let presses = 0; presses < 10 && !(focused.tag === 'input' && (focused.id ?? '').startsWith('sample-')); presses++) {
      await page.keyboard.press('Tab')
      focused = await focusedElement(page)
    }
    expect(focused.id).to.match(/^sample-/)
    await page.keyboard.press('Space')
    expect(await page.locator(`#${focused.id}`).isChecked()).to.equal(true)
    // The next-page link, by keyboard.
    await page.getByRole('link', { name: 'Næste side' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/cursor=/, { waitUntil: 'load' })
    expect(await page.getByRole('link', { name: 'Forrige side' }).isVisible()).to.equal(true)
    await checkPage(page, watch, 'the second page at 360 px')
  })
})
