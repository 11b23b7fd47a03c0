// The citizen portal in a real Chromium: the research opt-out walked with the keyboard alone (Tab, Shift+Tab, Enter,
// Space; no mouse, no typed address after the first), in Danish and in English, at 360 px and at desktop width, from
// the login to two receipts and a history of two changes. Every citizen page is checked with axe (WCAG 2.1 A/AA), no
// page may hit the CSP or log an error, no URL may hold a CPR number, the phone layout must not scroll sideways, and
// the opt-out works with JavaScript switched off.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import type { Browser, Page } from 'playwright-core'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { demoCitizen, demoCitizens } from '../../seeders/demoPeople.ts'
import {
  expectNoAxeViolations,
  expectNoCprInUrls,
  focusedElement,
  launchBrowser,
  openPage,
  pageWidth,
  viewports,
  watchPage,
  type OpenedPage,
  type PageWatch,
  type ViewportName,
} from './harness.ts'

// The project compiles without the DOM library; the one in-page callback of this file needs these.
declare const document: { activeElement: object | null }
declare function getComputedStyle(element: object): { outlineStyle: string; outlineWidth: string; boxShadow: string }

type Lang = 'da' | 'en'
type Choice = 'material' | 'genetic'
type Focused = Awaited<ReturnType<typeof focusedElement>>

/** What a citizen reads on the way, word for word, in both languages. */
const texts = {
  da: {
    loginLink: 'Log ind med MitID',
    welcome: (name: string) => `Velkommen, ${name}`,
    otherLanguage: 'English',
    optOutLink: 'Forskning: dit valg',
    optOutHeading: 'Må dine prøver bruges til forskning?',
    sayNo: (choice: Choice) => `Sig nej: ${texts.da.choice[choice]}`,
    withdraw: (choice: Choice) => `Fortryd dit nej: ${texts.da.choice[choice]}`,
    confirmHeadingNo: { material: 'Vil du sige nej til forskning med dit biologiske materiale?', genetic: 'Vil du sige nej til forskning med dine genetiske oplysninger?' },
    confirmHeadingYes: { material: 'Vil du fortryde dit nej til forskning med dit biologiske materiale?', genetic: 'Vil du fortryde dit nej til forskning med dine genetiske oplysninger?' },
    meaningNo: { material: 'må biobankerne ikke bruge dit biologiske materiale til ny forskning', genetic: 'må biobankerne ikke bruge dine genetiske oplysninger til ny forskning' },
    confirmNo: 'Ja, jeg siger nej',
    confirmYes: 'Ja, jeg fortryder mit nej',
    cancel: 'Nej, gå tilbage',
    receiptHeading: 'Kvittering for dit valg',
    receiptSaved: 'Dit valg er registreret.',
    changeNo: (choice: Choice) => `${texts.da.choice[choice]}: nej til forskning`,
    changeYes: (choice: Choice) => `${texts.da.choice[choice]}: nej fortrudt`,
    back: 'Tilbage til dine valg',
    historyHeading: 'Dine ændringer',
    historyEmpty: 'Du har ikke ændret dine valg.',
    optedOut: 'Du har sagt nej',
    notOptedOut: 'Du har ikke sagt nej',
    bySelf: 'Dig selv',
    choice: { material: 'Biologisk materiale', genetic: 'Genetiske oplysninger' },
  },
  en: {
    loginLink: 'Log in with MitID',
    welcome: (name: string) => `Welcome, ${name}`,
    otherLanguage: 'Dansk',
    optOutLink: 'Research: your choice',
    optOutHeading: 'May your samples be used for research?',
    sayNo: (choice: Choice) => `Say no: ${texts.en.choice[choice]}`,
    withdraw: (choice: Choice) => `Withdraw your no: ${texts.en.choice[choice]}`,
    confirmHeadingNo: { material: 'Do you want to say no to research with your biological material?', genetic: 'Do you want to say no to research with your genetic data?' },
    confirmHeadingYes: { material: 'Do you want to withdraw your no to research with your biological material?', genetic: 'Do you want to withdraw your no to research with your genetic data?' },
    meaningNo: { material: 'the biobanks may not use your biological material for new research', genetic: 'the biobanks may not use your genetic data for new research' },
    confirmNo: 'Yes, I say no',
    confirmYes: 'Yes, I withdraw my no',
    cancel: 'No, go back',
    receiptHeading: 'Receipt for your choice',
    receiptSaved: 'Your choice has been registered.',
    changeNo: (choice: Choice) => `${texts.en.choice[choice]}: no to research`,
    changeYes: (choice: Choice) => `${texts.en.choice[choice]}: no withdrawn`,
    back: 'Back to your choices',
    historyHeading: 'Your changes',
    historyEmpty: 'You have not changed your choices.',
    optedOut: 'You have said no',
    notOptedOut: 'You have not said no',
    bySelf: 'You',
    choice: { material: 'Biological material', genetic: 'Genetic data' },
  },
} as const

const RECEIPT_URL = /\/borger\/fravalg\/kvittering\/(VAR-\d{4}-[0-9A-Z]{8})$/

/** Every demo citizen's CPR number as it could appear in a URL: DDMMYYSSSS, DDMMYY-SSSS and DDMMYY%2DSSSS. */
const demoCprForms = demoCitizens.flatMap(({ cpr }) => [cpr, `${cpr.slice(0, 6)}-${cpr.slice(6)}`, `${cpr.slice(0, 6)}%2D${cpr.slice(6)}`])

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** No demo CPR number (any spelling) and nothing shaped like a CPR number in any URL visited or requested. */
function expectNoDemoCprInUrls(watch: PageWatch): void {
  const urls = [...new Set([...watch.visitedUrls, ...watch.requestedUrls])]
  const leaking = urls.filter((url) => {
    let decoded = url
    try {
      decoded = decodeURIComponent(url)
    } catch {
      // not percent-encoded after all: the raw URL is checked
    }
    return demoCprForms.some((form) => url.toLowerCase().includes(form.toLowerCase()) || decoded.includes(form))
  })
  expect(leaking, 'URLs holding a demo citizen CPR number').to.deep.equal([])
  expectNoCprInUrls(watch)
}

/** axe WCAG 2.1 A/AA, and no console error, uncaught exception or CSP violation so far. */
async function checkPage(page: Page, watch: PageWatch, what: string): Promise<void> {
  await expectNoAxeViolations(page, what)
  watch.expectNoProblems()
}

/** No sideways scrolling at the current width (WCAG 1.4.10 Reflow). */
async function expectNoSidewaysScrolling(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await pageWidth(page)
  expect(scrollWidth, `${what}: page width against window width`).to.be.at.most(innerWidth)
}

async function heading(page: Page): Promise<string | null> {
  return page.getByRole('heading', { level: 1 }).textContent()
}

/** Presses Tab (or Shift+Tab) until the focused element matches; fails after `limit` presses. */
async function tabTo(page: Page, what: string, matches: (focused: Focused) => boolean, { backwards = false, limit = 40 } = {}): Promise<void> {
  for (let presses = 1; presses <= limit; presses++) {
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab')
    if (matches(await focusedElement(page))) return
  }
  expect.fail(`${what} was not reached within ${limit} presses of ${backwards ? 'Shift+Tab' : 'Tab'}`)
}

const link = (text: string) => (f: Focused) => f.tag === 'a' && f.text === text
const button = (text: string) => (f: Focused) => f.tag === 'button' && f.text === text

/** The focused element shows where the focus is (WCAG 2.4.7): an outline or a box shadow. */
async function expectVisibleFocus(page: Page, what: string): Promise<void> {
  const style = await page.evaluate(() => {
    const element = document.activeElement
    if (!element) return undefined
    const computed = getComputedStyle(element)
    return { outlineStyle: computed.outlineStyle, outlineWidth: computed.outlineWidth, boxShadow: computed.boxShadow }
  })
  expect(style, `${what}: something has focus`).not.to.equal(undefined)
  const outlined = style!.outlineStyle !== 'none' && style!.outlineWidth !== '0px'
  expect(outlined || style!.boxShadow !== 'none', `${what}: visible focus (${JSON.stringify(style)})`).to.equal(true)
}

/** Does `action` and waits until the next page of the main frame (after any redirects) has loaded. */
async function nextPage(page: Page, action: () => Promise<void>): Promise<void> {
  const navigated = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() })
  await action()
  await navigated
  await page.waitForLoadState('load')
}

/** Presses a key on the focused link or button and waits for the page it leads to. */
async function pressAndWait(page: Page, key: 'Enter' | 'Space', url: string | RegExp): Promise<void> {
  await Promise.all([page.waitForURL(url, { waitUntil: 'load' }), page.keyboard.press(key)])
}

/** Front page → "Log ind med MitID" → the provider's form → the start page, with the keyboard alone. */
async function logInByKeyboard(page: Page, app: TestApp, lang: Lang, userId: string): Promise<void> {
  const t = texts[lang]
  await tabTo(page, `the "${t.loginLink}" link`, link(t.loginLink))
  await pressAndWait(page, 'Enter', new RegExp(`^${escapeRegExp(app.baseUrl)}/oidc/interaction/[^/?#]+$`))
  await tabTo(page, 'the Bruger-ID field', (f) => f.tag === 'input' && f.id === 'login')
  await page.keyboard.type(userId)
  await page.keyboard.press('Tab')
  expect(await focusedElement(page)).to.include({ tag: 'button', text: 'Log ind' })
  await pressAndWait(page, 'Enter', /\/borger$/)
  expect(page.url()).to.equal(`${app.baseUrl}/borger`)
  expect(await heading(page)).to.equal(t.welcome(demoCitizen(userId).name))
}

/** Front page → provider → start page, by mouse (for the tests that are not about the keyboard). */
async function logInByMouse(page: Page, app: TestApp, lang: Lang, userId: string): Promise<void> {
  await page.goto(`${app.baseUrl}/${lang === 'en' ? '?lang=en' : ''}`, { waitUntil: 'load' })
  await page.getByRole('link', { name: texts[lang].loginLink, exact: true }).click()
  await page.waitForURL(/\/oidc\/interaction\/[^/?#]+$/, { waitUntil: 'load' })
  await page.getByLabel('Bruger-ID').fill(userId)
  await Promise.all([page.waitForURL(/\/borger$/, { waitUntil: 'load' }), page.getByRole('button', { name: 'Log ind', exact: true }).click()])
  expect(page.url()).to.equal(`${app.baseUrl}/borger`)
  expect(await heading(page)).to.equal(texts[lang].welcome(demoCitizen(userId).name))
}

/** The rows of the history table on the opt-out page: [change, by, receipt reference] each, newest first. */
async function historyRows(page: Page, lang: Lang): Promise<string[][]> {
  const rows = page.getByRole('table', { name: texts[lang].historyHeading }).locator('tbody tr')
  const result: string[][] = []
  for (const row of await rows.all()) {
    const cells = await row.locator('td').allTextContents()
    result.push(cells.slice(1).map((c) => c.trim()))
  }
  return result
}

/** "Lige nu: Du har sagt nej" (or not) on the card of one choice on the opt-out page. */
async function currentState(page: Page, lang: Lang, choice: Choice): Promise<string | null> {
  return page.getByRole('region', { name: texts[lang].choice[choice], exact: true }).locator('strong').textContent()
}

// Every watched page allows an aborted favicon request (harness.ts ABORTED_FAVICON).
const openWatchedPage = (browser: Browser, viewport: ViewportName): Promise<OpenedPage> => openPage(browser, viewport)

describe('citizen portal in the browser', function () {
  let browser: Browser
  let opened: OpenedPage | undefined

  before(async () => {
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
  })
  afterEach(async () => {
    // The checks run inside each test (so a failure names the test); here the context is only closed.
    const context = opened?.context
    opened = undefined
    await context?.close()
  })

  describe('the research opt-out with the keyboard alone', () => {
    let app: TestApp
    before(async function () {
      this.timeout(120_000) // the first run builds the test database template
      app = await startTestApp()
    })
    after(async () => {
      await app?.close()
    })

    // Each walk uses its own citizen, none of whom has changed a choice before, so the walks cannot meet.
    const walks: { userId: string; lang: Lang; viewport: ViewportName; choice: Choice; english?: 'from the address' | 'by the language link' }[] = [
      { userId: 'anne', lang: 'da', viewport: 'desktop', choice: 'genetic' },
      { userId: 'carl', lang: 'da', viewport: 'phone', choice: 'material' },
      { userId: 'frida', lang: 'en', viewport: 'desktop', choice: 'material', english: 'from the address' },
      { userId: 'dorte', lang: 'en', viewport: 'phone', choice: 'genetic', english: 'by the language link' },
    ]

    for (const { userId, lang, viewport, choice, english } of walks) {
      const width = `${viewports[viewport].width} px`
      const how = english ? `in English (${english})` : 'in Danish'
      it(`${userId} says no to ${choice} research and withdraws it again, ${how} at ${width}: two receipts, two history rows`, async () => {
        const t = texts[lang]
        opened = await openWatchedPage(browser, viewport)
        const { page, watch } = opened
        const onEveryPage = async (what: string) => {
          await checkPage(page, watch, `${what} (${how}, ${width})`)
          if (viewport === 'phone') await expectNoSidewaysScrolling(page, `${what} at ${width}`)
        }

        // The only typed address: the front page (in English, once with ?lang=en, if that is how this walk starts).
        await page.goto(`${app.baseUrl}/${english === 'from the address' ? '?lang=en' : ''}`, { waitUntil: 'load' })
        await logInByKeyboard(page, app, english === 'from the address' ? 'en' : 'da', userId)
        if (english === 'by the language link') {
          await tabTo(page, 'the language link', link(texts.da.otherLanguage))
          await pressAndWait(page, 'Enter', `${app.baseUrl}/borger?lang=en`)
        }
        expect(await page.getAttribute('html', 'lang')).to.equal(lang)
        expect(await heading(page)).to.equal(t.welcome(demoCitizen(userId).name))
        await onEveryPage('the start page')

        // Start page → "Forskning: dit valg".
        await tabTo(page, `the "${t.optOutLink}" link`, link(t.optOutLink))
        await expectVisibleFocus(page, `the "${t.optOutLink}" link`)
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg`)
        expect(await heading(page)).to.equal(t.optOutHeading)
        expect(await currentState(page, lang, choice)).to.equal(t.notOptedOut)
        expect(await page.getByText(t.historyEmpty, { exact: true }).isVisible(), 'no changes yet').to.equal(true)
        await onEveryPage('the opt-out page')

        // "Sig nej" for this choice (the link names its choice for screen readers) → the confirm page.
        await tabTo(page, `the "${t.sayNo(choice)}" link`, link(t.sayNo(choice)))
        await expectVisibleFocus(page, `the "${t.sayNo(choice)}" link`)
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg/bekraeft?choice=${choice}&optOut=yes`)
        expect(await heading(page)).to.equal(t.confirmHeadingNo[choice])
        expect(await page.locator('main').textContent()).to.contain(t.meaningNo[choice])
        await onEveryPage('the confirm page (saying no)')

        // Tab past the confirm button to "Nej, gå tilbage", Shift+Tab back to it, and press it with Space.
        await tabTo(page, `the "${t.cancel}" link`, link(t.cancel))
        await page.keyboard.press('Shift+Tab')
        expect(await focusedElement(page)).to.include({ tag: 'button', text: t.confirmNo })
        await expectVisibleFocus(page, `the "${t.confirmNo}" button`)
        await pressAndWait(page, 'Space', RECEIPT_URL)

        // The receipt: its own address, the reference on the page, what changed.
        const first = RECEIPT_URL.exec(page.url())![1]!
        expect(await heading(page)).to.equal(t.receiptHeading)
        expect(await page.locator('.receipt-reference').textContent()).to.equal(first)
        expect(await page.getByRole('status').textContent()).to.contain(t.receiptSaved)
        expect(await page.locator('dl.receipt').textContent()).to.contain(t.changeNo(choice))
        await onEveryPage('the first receipt')

        // Back to the choices: the choice is now "Du har sagt nej", and the history has the receipt.
        await tabTo(page, `the "${t.back}" link`, link(t.back))
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg`)
        expect(await currentState(page, lang, choice)).to.equal(t.optedOut)
        expect(await historyRows(page, lang)).to.deep.equal([[t.changeNo(choice), t.bySelf, first]])
        await onEveryPage('the opt-out page after saying no')

        // Withdraw: "Fortryd dit nej" → confirm with Enter this time.
        await tabTo(page, `the "${t.withdraw(choice)}" link`, link(t.withdraw(choice)))
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg/bekraeft?choice=${choice}&optOut=no`)
        expect(await heading(page)).to.equal(t.confirmHeadingYes[choice])
        await onEveryPage('the confirm page (withdrawing)')
        await tabTo(page, `the "${t.confirmYes}" button`, button(t.confirmYes))
        await pressAndWait(page, 'Enter', RECEIPT_URL)

        const second = RECEIPT_URL.exec(page.url())![1]!
        expect(second, 'a new receipt').not.to.equal(first)
        expect(await page.locator('.receipt-reference').textContent()).to.equal(second)
        expect(await page.locator('dl.receipt').textContent()).to.contain(t.changeYes(choice))
        await onEveryPage('the second receipt')

        // The history shows both changes, newest first, each with its receipt.
        await tabTo(page, `the "${t.back}" link`, link(t.back))
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg`)
        expect(await currentState(page, lang, choice)).to.equal(t.notOptedOut)
        expect(await historyRows(page, lang)).to.deep.equal([
          [t.changeYes(choice), t.bySelf, second],
          [t.changeNo(choice), t.bySelf, first],
        ])
        // The receipts in the history are links the keyboard reaches.
        await tabTo(page, `the link to receipt ${first}`, link(first))
        await pressAndWait(page, 'Enter', `${app.baseUrl}/borger/fravalg/kvittering/${first}`)
        expect(await page.locator('.receipt-reference').textContent()).to.equal(first)

        watch.expectNoProblems()
        expectNoDemoCprInUrls(watch)
      })
    }
  })

  describe('every citizen page passes axe', () => {
    let app: TestApp
    const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
      app.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

    before(async function () {
      this.timeout(120_000)
      app = await startTestApp()
      // Someone at a biobank looked at anne's whole blood and checked it for a project, so her access log and the
      // sample's story have tables to show.
      const [blood] = await query<{ id: number; donor_id: number }>("select id, donor_id from samples where label = 'RH-2024-000123'")
      const [staff] = await query<{ id: number }>(
        "insert into staff_users (issuer, subject, name, role, biobank_id) select 'test', 'browser', 'Browser Tester', 'registrar', id from biobanks where code = 'RM' returning id",
      )
      const actor = { kind: 'staff' as const, staffUserId: Number(staff!.id) }
      await app.services.audit.record({ actor, action: 'sample.view', sampleId: Number(blood!.id), subjectDonorId: Number(blood!.donor_id) })
      await app.services.audit.record({
        actor,
        action: 'eligibility.check',
        sampleId: Number(blood!.id),
        subjectDonorId: Number(blood!.donor_id),
        details: { project: 'Hjertestudiet 2026', purpose: 'genetic', outcome: 'included' },
      })
    })
    after(async () => {
      await app?.close()
    })

    /** Follows a link in the main content (or the citizen menu) by mouse and waits for the page. */
    async function follow(page: Page, locator: ReturnType<Page['locator']>, url: string | RegExp): Promise<void> {
      await Promise.all([page.waitForURL(url, { waitUntil: 'load' }), locator.click()])
    }

    // Desktop in Danish as bo (opted out of both, with a history); phone in English as anne (the deepest sample tree).
    const tours: { viewport: ViewportName; lang: Lang; userId: string }[] = [
      { viewport: 'desktop', lang: 'da', userId: 'bo' },
      { viewport: 'phone', lang: 'en', userId: 'anne' },
    ]
    for (const { viewport, lang, userId } of tours) {
      const width = `${viewports[viewport].width} px`
      it(`${userId}'s start page, samples, a sample's story, access log, my data, opt-out, confirm and receipt at ${width} in ${lang === 'da' ? 'Danish' : 'English'}`, async () => {
        opened = await openWatchedPage(browser, viewport)
        const { page, watch } = opened
        const check = async (what: string, sideways = viewport === 'phone') => {
          await checkPage(page, watch, `${userId}'s ${what} at ${width}`)
          if (sideways) await expectNoSidewaysScrolling(page, `${userId}'s ${what} at ${width}`)
        }
        const main = page.locator('main')
        const nav = page.getByRole('navigation', { name: lang === 'da' ? 'Borgermenu' : 'Citizen menu' })

        await logInByMouse(page, app, lang, userId)
        await check('start page')

        await follow(page, nav.getByRole('link', { name: lang === 'da' ? 'Prøver' : 'Samples', exact: true }), `${app.baseUrl}/borger/proever`)
        expect(await heading(page)).to.equal(lang === 'da' ? 'Dine prøver' : 'Your samples')
        expect(await main.locator('li.citizen-sample').count()).to.be.greaterThan(1)
        await check('samples page')
        // The samples page fits 360 px even with aliquots nested under their parent.
        if (viewport === 'phone') await expectNoSidewaysScrolling(page, 'the samples page')

        await follow(page, main.locator('li.citizen-sample a').first(), /\/borger\/proever\/[0-9a-f-]{36}$/)
        expect(await page.getByRole('table', { name: lang === 'da' ? 'Hvad der er sket med prøven' : 'What has happened to the sample' }).isVisible()).to.equal(true)
        await check("sample's story")

        if (userId === 'anne') {
          // The whole blood someone looked at: its story has a table of who has used it.
          const [blood] = await query<{ public_id: string }>("select public_id from samples where label = 'RH-2024-000123'")
          await follow(page, nav.getByRole('link', { name: 'Samples', exact: true }), `${app.baseUrl}/borger/proever`)
          await follow(page, main.locator(`a[href="/borger/proever/${blood!.public_id}"]`), `${app.baseUrl}/borger/proever/${blood!.public_id}`)
          expect(await page.getByRole('table', { name: 'Who has used the sample' }).textContent()).to.contain('Hjertestudiet 2026')
          await check("whole blood's story, with who has used it")
        }

        await follow(page, nav.getByRole('link', { name: lang === 'da' ? 'Hvem har brugt' : 'Who has used', exact: true }), `${app.baseUrl}/borger/adgang`)
        if (userId === 'anne') expect(await page.getByRole('table', { name: 'Who has used your data' }).textContent()).to.contain('Hjertestudiet 2026')
        await check('access log')

        await follow(page, nav.getByRole('link', { name: lang === 'da' ? 'Hent data' : 'Download data', exact: true }), `${app.baseUrl}/borger/mine-data`)
        await check('my data page')

        await follow(page, nav.getByRole('link', { name: lang === 'da' ? 'Forskning: valg' : 'Research: choice', exact: true }), `${app.baseUrl}/borger/fravalg`)
        await check('opt-out page')

        // bo has said no to both: he withdraws the material one; anne says no to the material one.
        const t = texts[lang]
        const optedOut = userId === 'bo'
        const card = main.getByRole('region', { name: t.choice.material, exact: true })
        expect(await card.getByRole('link').textContent()).to.equal(optedOut ? t.withdraw('material') : t.sayNo('material'))
        await follow(page, card.getByRole('link'), `${app.baseUrl}/borger/fravalg/bekraeft?choice=material&optOut=${optedOut ? 'no' : 'yes'}`)
        await check('confirm page')
        await follow(page, main.getByRole('button', { name: optedOut ? t.confirmYes : t.confirmNo, exact: true }), RECEIPT_URL)
        expect(await page.locator('.receipt-reference').textContent()).to.match(/^VAR-\d{4}-[0-9A-Z]{8}$/)
        await check('receipt')
        // The receipt fits 360 px.
        if (viewport === 'phone') await expectNoSidewaysScrolling(page, 'the receipt')

        watch.expectNoProblems()
        expectNoDemoCprInUrls(watch)
      })

      it(`dorte acting for emil: the child's start page and samples at ${width}`, async () => {
        opened = await openWatchedPage(browser, viewport)
        const { page, watch } = opened
        await logInByMouse(page, app, 'da', 'dorte')
        await checkPage(page, watch, `dorte's start page at ${width}`)

        // No workaround here: POST /borger/handl-for (and /borger/handl-for-mig-selv) redirect before the changed
        // session is saved, so the browser often gets the start page of the person it just left. That is the bug
        // this test shows until routes/citizen.ts saves the session before redirecting.
        await nextPage(page, () => page.getByRole('button', { name: 'Handl for Emil Damgaard', exact: true }).click())
        expect(page.url()).to.equal(`${app.baseUrl}/borger`)
        expect(await heading(page), 'the start page now is about emil').to.equal('Du handler for Emil Damgaard')
        expect(await page.locator('header').textContent()).to.contain('Emil Damgaard')
        await checkPage(page, watch, `the acting-for-child start page at ${width}`)
        if (viewport === 'phone') await expectNoSidewaysScrolling(page, `the acting-for-child start page at ${width}`)

        await Promise.all([page.waitForURL(`${app.baseUrl}/borger/proever`, { waitUntil: 'load' }), page.getByRole('navigation', { name: 'Borgermenu' }).getByRole('link', { name: 'Prøver', exact: true }).click()])
        expect(await page.getByRole('region', { name: 'Du handler for Emil Damgaard' }).isVisible(), 'the notice stays on every page').to.equal(true)
        await checkPage(page, watch, `emil's samples, seen by dorte, at ${width}`)
        if (viewport === 'phone') await expectNoSidewaysScrolling(page, `emil's samples at ${width}`)

        await nextPage(page, () => page.getByRole('button', { name: 'Skift tilbage til dig selv', exact: true }).click())
        expect(page.url()).to.equal(`${app.baseUrl}/borger`)
        expect(await heading(page), 'the start page is about dorte again').to.equal('Velkommen, Dorte Damgaard')

        watch.expectNoProblems()
        expectNoDemoCprInUrls(watch)
      })

      it(`carl, who has no samples, sees the empty state at ${width}`, async () => {
        opened = await openWatchedPage(browser, viewport)
        const { page, watch } = opened
        await logInByMouse(page, app, 'da', 'carl')
        await Promise.all([page.waitForURL(`${app.baseUrl}/borger/proever`, { waitUntil: 'load' }), page.getByRole('link', { name: 'Se dine prøver', exact: true }).click()])
        expect(await page.getByRole('heading', { level: 2, name: 'Der er ingen prøver registreret' }).isVisible()).to.equal(true)
        expect(await page.locator('main li.citizen-sample').count()).to.equal(0)
        await checkPage(page, watch, `carl's empty samples page at ${width}`)
        if (viewport === 'phone') await expectNoSidewaysScrolling(page, `carl's empty samples page at ${width}`)

        await Promise.all([page.waitForURL(`${app.baseUrl}/borger/adgang`, { waitUntil: 'load' }), page.getByRole('link', { name: 'Hvem har brugt', exact: true }).click()])
        expect(await page.getByRole('table').count(), 'no empty table').to.equal(0)
        await checkPage(page, watch, `carl's empty access log at ${width}`)

        watch.expectNoProblems()
        expectNoDemoCprInUrls(watch)
      })
    }
  })

  describe('without JavaScript', () => {
    let app: TestApp
    before(async function () {
      this.timeout(120_000)
      app = await startTestApp()
    })
    after(async () => {
      await app?.close()
    })

    it('anne logs in, says no to genetic research and gets her receipt with JavaScript switched off', async () => {
      const context = await browser.newContext({ viewport: viewports.phone, locale: 'da-DK', reducedMotion: 'reduce', javaScriptEnabled: false })
      const page = await context.newPage()
      const watch = watchPage(page)
      opened = { context, page, watch }

      await logInByMouse(page, app, 'da', 'anne')
      // Really no script: the design system's script did not start.
      const scriptState = await page.evaluate(() => typeof (globalThis as { DKFDS?: unknown }).DKFDS)
      expect(scriptState, 'DKFDS ran').to.equal('undefined')

      await Promise.all([page.waitForURL(`${app.baseUrl}/borger/fravalg`, { waitUntil: 'load' }), page.getByRole('link', { name: 'Forskning: dit valg', exact: true }).click()])
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/borger/fravalg/bekraeft?choice=genetic&optOut=yes`, { waitUntil: 'load' }),
        page.getByRole('region', { name: texts.da.choice.genetic, exact: true }).getByRole('link', { name: /^Sig nej/ }).click(),
      ])
      await Promise.all([page.waitForURL(RECEIPT_URL, { waitUntil: 'load' }), page.getByRole('button', { name: texts.da.confirmNo, exact: true }).click()])
      const reference = RECEIPT_URL.exec(page.url())![1]!
      expect(await heading(page)).to.equal(texts.da.receiptHeading)
      expect(await page.locator('.receipt-reference').textContent()).to.equal(reference)
      expect(await page.locator('dl.receipt').textContent()).to.contain(texts.da.changeNo('genetic'))

      await Promise.all([page.waitForURL(`${app.baseUrl}/borger/fravalg`, { waitUntil: 'load' }), page.getByRole('link', { name: texts.da.back, exact: true }).click()])
      expect(await currentState(page, 'da', 'genetic')).to.equal(texts.da.optedOut)
      expect(await historyRows(page, 'da')).to.deep.equal([[texts.da.changeNo('genetic'), texts.da.bySelf, reference]])

      watch.expectNoProblems()
      expectNoDemoCprInUrls(watch)
    })
  })
})
