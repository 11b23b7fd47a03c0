// Browser tests: Debian's Chromium driven by playwright-core, pages checked with axe-core against WCAG 2.1 A/AA.
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { cprShapedText } from '../support/cprShape.ts'
import axe from 'axe-core'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'chai'

// The project compiles without the DOM library, so server code cannot use browser globals by accident. The few
// the in-page callbacks of this module use are declared here, for this module only.
interface InPageElement {
  tagName: string
  id: string
  className: string
  textContent: string | null
}
declare const window: { axe?: typeof axe; innerWidth: number; DKFDS?: { init?: unknown } }
declare const document: {
  activeElement: InPageElement | null
  body: InPageElement
  documentElement: { scrollWidth: number }
  querySelector(selector: string): InPageElement | null
  fonts: { ready: Promise<unknown>; check(font: string): boolean; [Symbol.iterator](): Iterator<{ family: string; status: string }> }
}
declare function getComputedStyle(element: InPageElement): { fontFamily: string; backgroundColor: string }

export const CHROMIUM_PATH = '/usr/bin/chromium'

export const viewports = {
  desktop: { width: 1280, height: 900 },
  phone: { width: 360, height: 740 },
} as const

export type ViewportName = keyof typeof viewports

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** What axe reports per violation, trimmed to what a person needs to find and fix it. */
interface AxeViolation {
  id: string
  impact: string | null | undefined
  help: string
  helpUrl: string
  nodes: Array<{ target: string[]; failureSummary: string | undefined }>
}

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const

/** A readable list of violations: one block per rule, one line per offending element. */
export function formatAxeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes.map((n) => `    - ${n.target.join(' ')}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`).join('\n')
      return `  [${v.impact ?? 'unknown'}] ${v.id}: ${v.help}\n    ${v.helpUrl}\n${nodes}`
    })
    .join('\n')
}

/**
 * Runs axe-core in the page against WCAG 2.0/2.1 A and AA and fails with the list of violations.
 * axe is injected through the DevTools protocol (page.evaluate), which our CSP does not block; a script tag would be.
 */
export async function expectNoAxeViolations(page: Page, what = page.url()): Promise<void> {
  const loaded = await page.evaluate(() => typeof window.axe === 'object')
  if (!loaded) await page.evaluate(axe.source)
  const violations = await page.evaluate(async (tags) => {
    const results = await window.axe!.run({ runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })),
    }))
  }, [...WCAG_TAGS])
  if (violations.length > 0) {
    expect.fail(`${violations.length} accessibility violation(s) on ${what}:\n${formatAxeViolations(violations)}`)
  }
}

export interface PageWatch {
  /** Every URL the page requested: documents, styles, scripts, fonts, images, form posts. */
  readonly requestedUrls: string[]
  /** Every URL the main frame navigated to, in order. */
  readonly visitedUrls: string[]
  /** Console errors, uncaught exceptions and CSP violations seen so far. */
  readonly problems: string[]
  /** Console errors matching one of these are expected (e.g. the 404 of a page we opened on purpose). */
  allow(pattern: RegExp): void
  /** Fails the test if the page logged a console error, threw, or hit the CSP. */
  expectNoProblems(): void
}

/**
 * Chromium asks for the favicon after the page's load event; a click or key pressed at once navigates away and
 * cancels that request, which is harmless and not a problem of the page.
 */
export const ABORTED_FAVICON = /^request failed: GET \S+\/assets\/favicon\.svg \(net::ERR_ABORTED\)$/

/** Records what the page visits and everything that went wrong in it. Attach before the first navigation. */
export function watchPage(page: Page): PageWatch {
  const requestedUrls: string[] = []
  const visitedUrls: string[] = []
  const problems: string[] = []
  const allowed: RegExp[] = [ABORTED_FAVICON]
  const isAllowed = (text: string) => allowed.some((pattern) => pattern.test(text))

  page.on('request', (req) => {
    requestedUrls.push(req.url())
  })
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) visitedUrls.push(frame.url())
  })
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    const location = message.location()
    const text = `console error: ${message.text()}${location.url ? ` (${location.url}:${location.lineNumber})` : ''}`
    if (!isAllowed(text)) problems.push(text)
  })
  page.on('pageerror', (error) => {
    problems.push(`uncaught exception: ${error.stack ?? error.message}`)
  })
  page.on('requestfailed', (req) => {
    const text = `request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText ?? 'unknown'})`
    if (!isAllowed(text)) problems.push(text)
  })

  return {
    requestedUrls,
    visitedUrls,
    problems,
    allow(pattern) {
      allowed.push(pattern)
    },
    expectNoProblems() {
      if (problems.length > 0) expect.fail(`the page reported ${problems.length} problem(s):\n  ${problems.join('\n  ')}`)
    },
  }
}

/** Fails if any URL the page requested or visited holds something shaped like a CPR number. */
export function expectNoCprInUrls(watch: PageWatch): void {
  const leaking = [...new Set([...watch.visitedUrls, ...watch.requestedUrls])].filter((url) => cprShapedText(url) !== undefined)
  expect(leaking, 'URLs holding a CPR number').to.deep.equal([])
}

/** The element that has focus, described well enough to assert on. */
export function focusedElement(page: Page): Promise<{ tag: string | undefined; id: string | undefined; className: string | undefined; text: string | undefined }> {
  return page.evaluate(() => {
    const el = document.activeElement
    return { tag: el?.tagName.toLowerCase(), id: el?.id, className: el?.className, text: el?.textContent?.trim() }
  })
}

/** How wide the page is against the window: wider means sideways scrolling (WCAG 1.4.10 Reflow). */
export function pageWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))
}

/** Whether Det Fælles Designsystem reached the page: its font, the styles of `selector`, and its script. */
export function designSystemState(page: Page, selector: string) {
  return page.evaluate(async (sel) => {
    await document.fonts.ready
    const element = document.querySelector(sel)
    return {
      bodyFontFamily: getComputedStyle(document.body).fontFamily,
      fontLoaded: document.fonts.check('16px "IBM Plex Sans"') && [...document.fonts].some((f) => f.family.includes('IBM Plex Sans') && f.status === 'loaded'),
      backgroundColor: element ? getComputedStyle(element).backgroundColor : undefined,
      dkfdsInit: typeof window.DKFDS?.init,
    }
  }, selector)
}

export interface OpenedPage {
  context: BrowserContext
  page: Page
  watch: PageWatch
}

/** A fresh browser context (no cookies) of the given size, with a watched page in it. */
export async function openPage(browser: Browser, viewport: ViewportName = 'desktop'): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: viewports[viewport], locale: 'da-DK', reducedMotion: 'reduce' })
  const page = await context.newPage()
  const watch = watchPage(page)
  return { context, page, watch }
}

/**
 * The set-up every browser suite shares: the real app on a fresh test database and one Chromium, started before
 * the suite's tests and closed after them. `onStart` receives both (assign them to the suite's variables).
 */
export function startAppAndBrowser(onStart: (started: { app: TestApp; browser: Browser }) => void): void {
  let started: { app: TestApp; browser: Browser } | undefined
  before(async function () {
    this.timeout(120_000) // the first run builds the test database template
    const app = await startTestApp()
    started = { app, browser: await launchBrowser() }
    onStart(started)
  })
  after(async () => {
    await started?.browser.close()
    await started?.app.close()
  })
}
