// The staff dashboard in a real Chromium, signed in through the development staff provider: no axe violations
// (WCAG 2.1 A/AA) at desktop and 360 px, in Danish and English, for a biobank's admin and for the auditor; the
// charts are images with names and their numbers are in tables; nothing scrolls sideways; no script is needed.
// Also the printable label sheet and its refusal page, reached by a posted form as from the search results.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import type { Browser, Page } from 'playwright-core'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { login, newAgent } from '../support/oidcFlow.ts'
import { SESSION_COOKIE } from '../../server/setUpWebSession.ts'
import { expectNoAxeViolations, expectNoCprInUrls, launchBrowser, openPage, pageWidth, viewports, type OpenedPage, type ViewportName } from './harness.ts'

// The project compiles without the DOM library; the in-page callbacks below use only these.
interface InPageForm {
  method: string
  action: string
  appendChild(child: unknown): void
  submit(): void
}
interface InPageInput {
  type: string
  name: string
  value: string
}
declare const document: {
  createElement(tag: 'form'): InPageForm
  createElement(tag: 'input'): InPageInput
  querySelector(selector: string): { getAttribute(name: string): string | null } | null
  body: { appendChild(child: unknown): void }
}

describe('staff dashboard in the browser', function () {
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

  afterEach(async function () {
    if (!opened) return
    const { context, watch } = opened
    opened = undefined
    await context.close()
    if (this.currentTest?.state === 'passed') {
      watch.expectNoProblems()
      expectNoCprInUrls(watch)
    }
  })

  /**
   * Signs in through the real development staff provider (HTTP client), hands the session cookie to the browser and
   * opens the dashboard. Not typed into the browser: the sign-in callback has a race (routes/auth.ts, reported) that
   * a fast browser sometimes loses, landing on "expired"; the browser sign-in itself is test/browser/login.test.ts's.
   */
  async function signIn(page: Page, userId: string): Promise<void> {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'staff', userId)
    const jar = (agent as unknown as { jar: { getCookie(name: string, access: unknown): { value: string } | undefined } }).jar
    const value = jar.getCookie(SESSION_COOKIE, { domain: new URL(app.baseUrl).hostname, path: '/', secure: false, script: false })?.value
    expect(value, `session cookie of ${userId}`).to.be.a('string')
    await page.context().addCookies([{ name: SESSION_COOKIE, value: value!, url: app.baseUrl }])
    await page.goto(`${app.baseUrl}/medarbejder`, { waitUntil: 'load' })
    expect(page.url()).to.equal(`${app.baseUrl}/medarbejder`)
  }

  async function expectNoSidewaysScrolling(page: Page, what: string): Promise<void> {
    const { scrollWidth, innerWidth } = await pageWidth(page)
    expect(scrollWidth, `${what}: page width against window width`).to.be.at.most(innerWidth)
  }

  for (const viewport of Object.keys(viewports) as ViewportName[]) {
    for (const [userId, name, charts] of [
      ['henrik', 'Henrik Holm', 4],
      ['revisor', 'Rikke Revisor', 5],
    ] as const) {
      it(`${userId}'s dashboard has no axe violations at ${viewport} width (${viewports[viewport].width} px), in Danish and English`, async () => {
        opened = await openPage(browser, viewport)
        const { page } = opened
        await signIn(page, userId)
        expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal(`Velkommen, ${name}`)
        // Every chart is an image named by its title; its numbers are in a table with a caption.
        const images = page.locator('svg.bar-chart[role="img"]')
        expect(await images.count()).to.equal(charts)
        expect(await page.getByRole('img', { name: 'Prøver fordelt på materialetype' }).count()).to.equal(1)
        expect(await page.getByRole('table', { name: 'Prøver fordelt på materialetype' }).count()).to.equal(1)
        expect(await page.getByRole('rowheader', { name: 'Fuldblod' }).count()).to.equal(1)
        await expectNoAxeViolations(page, `${userId}'s dashboard at ${viewport} width`)
        await expectNoSidewaysScrolling(page, `${userId}'s dashboard at ${viewport} width`)

        await page.getByRole('link', { name: 'English' }).click()
        await page.waitForURL(/\?lang=en$/)
        expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal(`Welcome, ${name}`)
        await expectNoAxeViolations(page, `${userId}'s dashboard in English at ${viewport} width`)
        await expectNoSidewaysScrolling(page, `${userId}'s dashboard in English at ${viewport} width`)
      })
    }
  }

  /** Posts the ids as a form from the current page (as the search results' "print labels" button would). */
  async function postLabels(page: Page, ids: string[]): Promise<void> {
    await Promise.all([
      page.waitForURL(`${app.baseUrl}/medarbejder/etiketter`, { waitUntil: 'load' }),
      page.evaluate((sampleIds) => {
        const form = document.createElement('form')
        form.method = 'post'
        form.action = '/medarbejder/etiketter'
        const fields = [...sampleIds.map((id) => ['sample', id]), ['_csrf', document.querySelector('input[name="_csrf"]')!.getAttribute('value')!]]
        for (const [name, value] of fields) {
          const input = document.createElement('input')
          input.type = 'hidden'
          input.name = name!
          input.value = value!
          form.appendChild(input)
        }
        document.body.appendChild(form)
        form.submit()
      }, ids),
    ])
  }

  const sampleIds = async (code: string, limit: number) =>
    (
      await app.services.database.sequelize.query<{ publicId: string }>(
        `select s.public_id as "publicId" from samples s join biobanks b on b.id = s.biobank_id where b.code = :code order by s.label limit :limit`,
        { type: QueryTypes.SELECT, replacements: { code, limit } },
      )
    ).map((row) => row.publicId)

  for (const viewport of Object.keys(viewports) as ViewportName[]) {
    it(`the label sheet and its refusal have no axe violations at ${viewport} width`, async () => {
      opened = await openPage(browser, viewport)
      const { page, watch } = opened
      await signIn(page, 'stine')
      await postLabels(page, await sampleIds('RH', 22))
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Etiketter til udskrift')
      expect(await page.locator('li.sample-label svg.label-barcode').count()).to.equal(22)
      await expectNoAxeViolations(page, `the label sheet at ${viewport} width`)
      await expectNoSidewaysScrolling(page, `the label sheet at ${viewport} width`)

      // Printed, only the labels remain: no header, navigation, heading or footer.
      await page.emulateMedia({ media: 'print' })
      expect(await page.locator('header.header').isVisible()).to.equal(false)
      expect(await page.getByRole('heading', { level: 1 }).isVisible()).to.equal(false)
      expect(await page.locator('footer').isVisible()).to.equal(false)
      expect(await page.locator('li.sample-label').first().isVisible()).to.equal(true)
      await page.emulateMedia({ media: 'screen' })

      // Another biobank's sample: the refusal page, 403 (the browser logs the status; expected here).
      watch.allow(/status of 403/)
      await page.goto(`${app.baseUrl}/medarbejder`, { waitUntil: 'load' })
      await postLabels(page, await sampleIds('RM', 1))
      expect(await page.getByRole('heading', { level: 1 }).textContent()).to.equal('Etiketterne kan ikke udskrives')
      expect(await page.getByRole('alert').textContent()).to.contain('hører til en anden biobank')
      await expectNoAxeViolations(page, `the label refusal at ${viewport} width`)
    })
  }
})
