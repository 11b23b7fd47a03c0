// The public pages and the page frame: the real app on a real database, over HTTP. The error pages are also
// rendered by a small app that shares our views and error handler, so every status can be provoked on purpose.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import express from 'express'
import request from 'supertest'
import { projectRoot, type Config } from '../../server/config.ts'
import { errorHandler, HttpError, notFoundHandler } from '../../server/errorHandler.ts'
import { languages, readTranslations, setUpViews, type Language, type TranslationTree } from '../../server/setUpViews.ts'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { testConfig } from '../support/testDatabase.ts'

/** A line of a V8 stack trace, e.g. "    at Layer.handle (/work/...)". */
const STACK_FRAME = /^\s+at .+[(/\\]/m

function setCookies(res: request.Response): string[] {
  const header = res.headers['set-cookie'] as unknown
  return Array.isArray(header) ? (header as string[]) : typeof header === 'string' ? [header] : []
}

function langCookie(res: request.Response): string | undefined {
  return setCookies(res).find((c) => c.startsWith('lang='))
}

/** The page frame every page shares, in Danish or English. */
function expectPageFrame(html: string, lang: 'da' | 'en'): void {
  expect(html).to.match(new RegExp(`<html lang="${lang}">`))
  expect(html).to.match(lang === 'da' ? /<title>[^<]+ – Biobankregisteret<\/title>/ : /<title>[^<]+ – Biobank Registry<\/title>/)
  expect(html).to.include('<link rel="stylesheet" href="/assets/dkfds/css/dkfds.min.css">')
  expect(html).to.include('<link rel="stylesheet" href="/assets/app.css">')
  expect(html).to.match(/<script src="\/assets\/dkfds\/js\/dkfds\.min\.js" defer><\/script>/)
  expect(html).to.match(/<script src="\/assets\/app\.js" defer><\/script>/)
  expect(html).to.match(new RegExp(`<a class="skipnav" href="#main-content">${lang === 'da' ? 'Gå til indhold' : 'Skip to content'}</a>`))
  expect(html).to.match(/<main id="main-content"[^>]*>/)
  expect(html).to.match(/<header class="header">/)
  expect(html).to.match(/<footer>/)
  expect(html).to.match(new RegExp(`<a href="/tilgaengelighed">${lang === 'da' ? 'Tilgængelighedserklæring' : 'Accessibility statement'}</a>`))
  // The CSP forbids inline script and style; a page that used them would break silently in the browser.
  expect(html, 'inline <script>').not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/)
  expect(html, '<style> block').not.to.match(/<style[\s>]/)
  expect(html, 'style= attribute').not.to.match(/\sstyle=/)
  expect(html, 'inline event handler').not.to.match(/\son[a-z]+=/)
  expect(html, 'stack trace').not.to.match(STACK_FRAME)
}

describe('public pages', function () {
  let app: TestApp

  before(async function () {
    this.timeout(120_000) // the first run builds the test database template
    app = await startTestApp()
  })

  after(async () => {
    await app?.close()
  })

  describe('front page', () => {
    it('is Danish by default and shows the two ways in', async () => {
      const res = await request(app.baseUrl).get('/').expect(200).expect('Content-Type', /text\/html; charset=utf-8/)
      expectPageFrame(res.text, 'da')
      expect(res.text).to.include('<title>Dine prøver i biobankerne – Biobankregisteret</title>')
      expect(res.text).to.match(/<h1>Dine prøver i biobankerne<\/h1>/)
      expect(res.text).to.match(/<a class="button button-primary" href="\/auth\/borger\/login">Log ind med MitID<\/a>/)
      expect(res.text).to.match(/<a [^>]*href="\/auth\/medarbejder\/login">For medarbejdere<\/a>/)
      expect(res.text).to.include('Vævsanvendelsesregisteret')
      expect(res.text).to.include('§ 29')
      expect(res.text).to.include('under 15 år')
      expect(res.text).to.include('ingen betydning for din behandling')
    })

    it('links to the English version with lang and hreflang', async () => {
      const res = await request(app.baseUrl).get('/').expect(200)
      expect(res.text).to.match(/<a class="function-link header-language" href="\/\?lang=en" lang="en" hreflang="en">.*English<\/a>/)
    })

    it('shows no user and no Log ud form when nobody is signed in', async () => {
      const res = await request(app.baseUrl).get('/').expect(200)
      expect(res.text).not.to.include('action="/auth/logout"')
      expect(res.text).not.to.include('Logget ind som')
    })

    it('has exactly one h1 and the main landmark right after the header', async () => {
      const res = await request(app.baseUrl).get('/').expect(200)
      expect(res.text.match(/<h1[\s>]/g)).to.have.length(1)
      expect(res.text.indexOf('</header>')).to.be.lessThan(res.text.indexOf('<main id="main-content"'))
      expect(res.text.indexOf('</main>')).to.be.lessThan(res.text.indexOf('<footer>'))
    })
  })

  describe('accessibility statement', () => {
    it('is linked from the footer and answers with the statement', async () => {
      const front = await request(app.baseUrl).get('/').expect(200)
      expect(front.text).to.include('href="/tilgaengelighed"')
      const res = await request(app.baseUrl).get('/tilgaengelighed').expect(200).expect('Content-Type', /text\/html/)
      expectPageFrame(res.text, 'da')
      expect(res.text).to.include('<title>Tilgængelighedserklæring – Biobankregisteret</title>')
      expect(res.text).to.match(/<h1>Tilgængelighedserklæring<\/h1>/)
      expect(res.text).to.include('webtilgængelighedsloven')
      expect(res.text).to.include('WCAG 2.1')
      expect(res.text).to.include('axe')
      expect(res.text).to.include('tastaturet')
      expect(res.text).to.include('Vi kender ikke til indhold, der ikke er tilgængeligt')
      expect(res.text).to.include('href="mailto:tilgaengelighed@biobankregisteret.example"')
      expect(res.text).to.include('Digitaliseringsstyrelsen')
      expect(res.text).to.match(/href="https:\/\/digst\.dk\/[^"]+"/)
    })

    it('exists in English too', async () => {
      const res = await request(app.baseUrl).get('/tilgaengelighed?lang=en').expect(200)
      expectPageFrame(res.text, 'en')
      expect(res.text).to.include('<title>Accessibility statement – Biobank Registry</title>')
      expect(res.text).to.include('Danish Agency for Digital Government')
    })
  })

  describe('language', () => {
    it('switches to English with ?lang=en and remembers it in a cookie', async () => {
      const res = await request(app.baseUrl).get('/?lang=en').expect(200)
      expectPageFrame(res.text, 'en')
      expect(res.text).to.include('<title>Your samples in the biobanks – Biobank Registry</title>')
      expect(res.text).to.include('Log in with MitID')
      expect(res.text).to.match(/href="\/auth\/medarbejder\/login">For staff<\/a>/)
      expect(res.text).to.match(/href="\/\?lang=da" lang="da" hreflang="da">.*Dansk<\/a>/)

      const cookie = langCookie(res)
      expect(cookie, 'lang cookie').to.be.a('string')
      expect(cookie).to.match(/^lang=en;/)
      expect(cookie).to.match(/;\s*HttpOnly/i)
      expect(cookie).to.match(/;\s*SameSite=Lax/i)
      expect(cookie).to.match(/;\s*Path=\//i)
      const maxAge = Number(/Max-Age=(\d+)/i.exec(cookie!)?.[1])
      expect(maxAge).to.be.within(365 * 24 * 3600 - 5, 365 * 24 * 3600)

      const next = await request(app.baseUrl).get('/tilgaengelighed').set('Cookie', 'lang=en').expect(200)
      expectPageFrame(next.text, 'en')
      expect(langCookie(next), 'no new cookie without ?lang').to.equal(undefined)
    })

    it('a browser keeps the choice from page to page', async () => {
      const agent = request.agent(app.baseUrl)
      await agent.get('/?lang=en').expect(200)
      const res = await agent.get('/tilgaengelighed').expect(200)
      expect(res.text).to.include('<html lang="en">')
      await agent.get('/tilgaengelighed?lang=da').expect(200)
      const back = await agent.get('/').expect(200)
      expect(back.text).to.include('<html lang="da">')
      expect(back.text).to.include('Log ind med MitID')
    })

    it('ignores an unknown language and a bad cookie', async () => {
      const res = await request(app.baseUrl).get('/?lang=de').set('Cookie', 'lang=%E0%A4%A').expect(200)
      expect(res.text).to.include('<html lang="da">')
      expect(langCookie(res)).to.equal(undefined)
    })

    it('keeps other query parameters in the switch link', async () => {
      const res = await request(app.baseUrl).get('/tilgaengelighed?lang=da&page=2&q=a%20b').expect(200)
      expect(res.text).to.include('href="/tilgaengelighed?lang=en&amp;page=2&amp;q=a+b"')
    })

    it('never builds a switch link that leaves the site', async () => {
      const res = await request(app.baseUrl).get('//evil.example/path').expect(404)
      expect(res.text).to.include('href="/evil.example/path?lang=en"')
      expect(res.text).not.to.match(/href="\/\//)
    })

    it('tells caches that pages vary by the language cookie', async () => {
      const res = await request(app.baseUrl).get('/').expect(200)
      expect(res.headers.vary).to.match(/Cookie/i)
    })
  })

  describe('not found', () => {
    it('answers an unknown path with 404 and the Danish help page', async () => {
      const res = await request(app.baseUrl).get('/findes-ikke').expect(404).expect('Content-Type', /text\/html/)
      expectPageFrame(res.text, 'da')
      expect(res.text).to.include('<title>Siden blev ikke fundet – Biobankregisteret</title>')
      expect(res.text).to.match(/<h1>Siden blev ikke fundet<\/h1>/)
      expect(res.text).to.include('<a href="/">Gå til forsiden af Biobankregisteret</a>')
    })

    it('in English when the cookie says so', async () => {
      const res = await request(app.baseUrl).get('/missing').set('Cookie', 'lang=en').expect(404)
      expectPageFrame(res.text, 'en')
      expect(res.text).to.match(/<h1>Page not found<\/h1>/)
    })

    it('does not treat an unknown asset as a page', async () => {
      const res = await request(app.baseUrl).get('/assets/nothing-here.css').expect(404)
      expect(res.text).to.include('Siden blev ikke fundet')
    })
  })

  describe('health checks', () => {
    it('/healthz answers 200', async () => {
      const res = await request(app.baseUrl).get('/healthz').expect(200).expect('Content-Type', /json/)
      expect(res.body).to.deep.equal({ status: 'UP' })
    })

    it('/readyz answers 200 when the database is there', async () => {
      const res = await request(app.baseUrl).get('/readyz').expect(200).expect('Content-Type', /json/)
      expect(res.body.status).to.equal('UP')
    })
  })

  describe('static resources', () => {
    it('serves the DKFDS stylesheet, script and the fonts it refers to', async () => {
      const css = await request(app.baseUrl).get('/assets/dkfds/css/dkfds.min.css').expect(200).expect('Content-Type', /text\/css/)
      await request(app.baseUrl).get('/assets/dkfds/js/dkfds.min.js').expect(200).expect('Content-Type', /javascript/)
      const font = /url\(["']?(\.\.\/fonts\/[^"')]+\.woff2)/.exec(css.text)?.[1]
      expect(font, 'a woff2 font in dkfds.min.css').to.be.a('string')
      await request(app.baseUrl).get(new URL(font!, `${app.baseUrl}/assets/dkfds/css/`).pathname).expect(200).expect('Content-Type', /font\/woff2/)
      await request(app.baseUrl).get('/assets/dkfds/img/all-svg-icons.svg').expect(200).expect('Content-Type', /image\/svg\+xml/)
    })

    it('serves our own script, stylesheet and icon', async () => {
      const js = await request(app.baseUrl).get('/assets/app.js').expect(200).expect('Content-Type', /javascript/)
      expect(js.text).to.include('DKFDS.init()')
      await request(app.baseUrl).get('/assets/app.css').expect(200).expect('Content-Type', /text\/css/)
      await request(app.baseUrl).get('/assets/favicon.svg').expect(200).expect('Content-Type', /image\/svg\+xml/)
    })
  })

  describe('security headers', () => {
    it('sends a CSP without unsafe-inline or unsafe-eval', async () => {
      const res = await request(app.baseUrl).get('/').expect(200)
      const csp = res.headers['content-security-policy'] as string
      expect(csp).to.be.a('string')
      expect(csp).to.match(/script-src 'self'(;|$)/)
      expect(csp).to.match(/style-src 'self'(;|$)/)
      expect(csp).not.to.include('unsafe-inline')
      expect(csp).not.to.include('unsafe-eval')
    })
  })
})

describe('page frame and error pages', function () {
  // The production switches on top of the test configuration: what the views and the error handler read.
  const productionConfig = (): Config => ({ ...testConfig(), env: 'production', production: true })

  /** Our views and error handler around routes that fail on purpose; no database involved. */
  async function startErrorApp(config: Config): Promise<{ baseUrl: string; app: express.Express; close(): Promise<void> }> {
    const app = express()
    setUpViews(app, config)
    app.get('/fail/:status', (req) => {
      const status = Number(req.params.status)
      throw status === 500 ? new Error('secret internal detail') : new HttpError(status, 'refused for a reason')
    })
    app.get('/database-down', () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { name: 'SequelizeConnectionRefusedError' })
    })
    app.get('/signed-in/:kind', (req, res) => {
      res.locals.csrfToken = 'token-123'
      res.locals.user =
        req.params.kind === 'parent'
          ? { kind: 'citizen', name: 'Anne <b>Hansen</b>', actingFor: { name: 'Ida Hansen' } }
          : { kind: 'staff', name: 'Stine Bioanalytiker', roleLabel: 'Bioanalytiker, Region Hovedstadens Biobank' }
      res.render('pages/index')
    })
    app.use(notFoundHandler)
    app.use(errorHandler(config))
    const server = http.createServer(app)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      app,
      async close() {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      },
    }
  }

  describe('in production', () => {
    let errorApp: Awaited<ReturnType<typeof startErrorApp>>
    before(async () => {
      errorApp = await startErrorApp(productionConfig())
    })
    after(() => errorApp?.close())

    it('caches compiled views', () => {
      expect(errorApp.app.enabled('view cache')).to.equal(true)
    })

    const cases: Array<[number, string]> = [
      [400, 'Vi kunne ikke forstå forespørgslen'],
      [403, 'Du har ikke adgang'],
      [413, 'Filen eller formularen er for stor'],
      [429, 'For mange forsøg'],
      [500, 'Der opstod en fejl'],
      [418, 'Der opstod en fejl'],
    ]
    for (const [status, heading] of cases) {
      it(`answers ${status} with a friendly Danish page and no internals`, async () => {
        const res = await request(errorApp.baseUrl).get(`/fail/${status}`).expect(status).expect('Content-Type', /text\/html/)
        expectPageFrame(res.text, 'da')
        expect(res.text).to.include(`<h1>${heading}</h1>`)
        expect(res.text).to.include(`<title>${heading} – Biobankregisteret</title>`)
        expect(res.text).to.include(`Fejlkode: ${status}`)
        expect(res.text).not.to.include('<pre')
        expect(res.text).not.to.include('secret internal detail')
        expect(res.text).not.to.include('refused for a reason')
      })
    }

    it('answers in English when the cookie says so', async () => {
      const res = await request(errorApp.baseUrl).get('/fail/403').set('Cookie', 'lang=en').expect(403)
      expectPageFrame(res.text, 'en')
      expect(res.text).to.include('<h1>You do not have access</h1>')
    })

    it('answers 503 with the Danish explanation when the database is out of reach', async () => {
      const res = await request(errorApp.baseUrl).get('/database-down').expect(503).expect('Retry-After', '30')
      expectPageFrame(res.text, 'da')
      expect(res.text).to.include('<title>Tjenesten er midlertidigt utilgængelig – Biobankregisteret</title>')
      expect(res.text).to.include('Prøv igen om et par minutter')
      expect(res.text).to.include('ikke gået tabt')
      expect(res.text).not.to.include('ECONNREFUSED')
    })

    it('sets the lang cookie with Secure', async () => {
      const res = await request(errorApp.baseUrl).get('/fail/400?lang=en').expect(400)
      expect(langCookie(res)).to.match(/;\s*Secure/i)
    })
  })

  describe('in the test environment', () => {
    let errorApp: Awaited<ReturnType<typeof startErrorApp>>
    before(async () => {
      errorApp = await startErrorApp(testConfig())
    })
    after(() => errorApp?.close())

    it('shows no stack trace on a 500 either', async () => {
      const res = await request(errorApp.baseUrl).get('/fail/500').expect(500)
      expect(res.text).not.to.match(STACK_FRAME)
      expect(res.text).not.to.include('<pre')
    })

    it('does not cache views, so templates can change while it runs', () => {
      expect(errorApp.app.enabled('view cache')).to.equal(false)
    })

    it('shows a citizen acting for a child, escaped, with a Log ud form carrying the CSRF token', async () => {
      const res = await request(errorApp.baseUrl).get('/signed-in/parent').expect(200)
      expectPageFrame(res.text, 'da')
      expect(res.text).to.include('<strong>Anne &lt;b&gt;Hansen&lt;/b&gt;</strong>, Borger, handler for Ida Hansen')
      expect(res.text).to.match(/<form method="post" action="\/auth\/logout"[^>]*>\s*<input type="hidden" name="_csrf" value="token-123">/)
      expect(res.text).to.match(/<button type="submit" class="function-link">.*Log ud<\/button>/)
    })

    it('shows a member of staff with their role', async () => {
      const res = await request(errorApp.baseUrl).get('/signed-in/staff?lang=en').expect(200)
      expect(res.text).to.include('<strong>Stine Bioanalytiker</strong>, Bioanalytiker, Region Hovedstadens Biobank')
      expect(res.text).to.match(/Log out<\/button>/)
      expect(res.text).not.to.include('Borger')
    })
  })

  describe('in development', () => {
    let errorApp: Awaited<ReturnType<typeof startErrorApp>>
    before(async () => {
      errorApp = await startErrorApp(testConfig({ NODE_ENV: 'development' }))
    })
    after(() => errorApp?.close())

    it('shows the stack inside <pre> to help the developer', async () => {
      const res = await request(errorApp.baseUrl).get('/fail/500').expect(500)
      expect(res.text).to.match(/<pre class="error-stack" tabindex="0">Error: secret internal detail\n\s+at /)
    })
  })
})

describe('translations', () => {
  type Tree = TranslationTree
  const read = (lang: Language) => readTranslations(lang)
  const leaves = (tree: Tree, prefix = ''): string[] =>
    Object.entries(tree).flatMap(([key, value]) =>
      typeof value === 'object' && !Array.isArray(value) ? leaves(value, `${prefix}${key}.`) : [`${prefix}${key}`],
    )
  const lookup = (tree: Tree, key: string): unknown => key.split('.').reduce<unknown>((node, part) => (node as Tree | undefined)?.[part], tree)
  const viewFiles = (folder: string): string[] =>
    fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? viewFiles(path.join(folder, entry.name)) : entry.name.endsWith('.ejs') ? [path.join(folder, entry.name)] : [],
    )

  it('Danish and English have the same keys', () => {
    expect(leaves(read('en')).sort()).to.deep.equal(leaves(read('da')).sort())
  })

  it('every literal text key any view asks for exists in both languages', () => {
    const keys = new Set<string>()
    for (const file of viewFiles(path.join(projectRoot, 'views'))) {
      const source = fs.readFileSync(file, 'utf8').replace(/<%#[\s\S]*?%>/g, '')
      for (const match of source.matchAll(/\bt\('([^']+)'/g)) if (!match[1]!.endsWith('.')) keys.add(match[1]!)
    }
    expect(keys.size).to.be.greaterThan(50)
    for (const lang of languages) {
      const tree = read(lang)
      const missing = [...keys].filter((key) => lookup(tree, key) === undefined)
      expect(missing, `missing in locales/${lang}/`).to.deep.equal([])
    }
  })
})
