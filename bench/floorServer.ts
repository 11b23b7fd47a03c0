// The floor of the citizen page: the same EJS template (views/pages/citizen/samples.ejs) rendered by the same
// Express stack (Express 5, helmet headers as setUpWebSecurity sets them, views and locals from setUpViews) from
// data held in memory: no session, no database. What the real page may cost on top of this is its own work.
//
//   node --import tsx bench/floorServer.ts --port N --data-dir .data/bench --pages <file.json> [--view-cache]
//
// The pages file holds, per citizen, what citizenService.samples returned for them (made by the bench beforehand);
// each request renders a random one. GET /readyz answers 200 once it listens.
import fs from 'node:fs'
import http from 'node:http'
import crypto from 'node:crypto'
import { parseArgs } from 'node:util'
import express from 'express'
import { loadConfig } from '../server/config.ts'
import { setUpViews } from '../server/setUpViews.ts'
import { setUpWebSecurity } from '../server/setUpWebSecurity.ts'

export interface FloorPage {
  name: string
  subject: { donorId: number; actor: { donorId: number; name: string }; actedBy: 'self' }
  /** The locals of res.render('pages/citizen/samples', …) in routes/citizen.ts. */
  result: Record<string, unknown>
}

const DATE_KEYS = new Set(['collectedAt', 'updatedAt'])

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    pages: { type: 'string' },
    'view-cache': { type: 'boolean', default: false },
  },
  strict: true,
})

const pages = JSON.parse(fs.readFileSync(values.pages!, 'utf8'), (key, value: unknown) =>
  DATE_KEYS.has(key) && typeof value === 'string' ? new Date(value) : value,
) as FloorPage[]
if (pages.length === 0) throw new Error('no pages to render')

const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: values['data-dir']!, LOG_LEVEL: 'warn', PORT: values.port! })
const app = express()
app.disable('x-powered-by')
app.use(setUpWebSecurity(config))
app.get('/readyz', (_req, res) => {
  res.json({ status: 'UP' })
})
setUpViews(app, config)
// As in production (setUpViews enables it when NODE_ENV=production): each template compiled once.
if (values['view-cache']) app.enable('view cache')
// A signed-in session's token (setUpCsrf puts one into every page with a user).
const csrfToken = crypto.randomBytes(128).toString('hex')
app.get('/borger/proever', (_req, res) => {
  const page = pages[Math.floor(Math.random() * pages.length)]!
  res.locals.user = { kind: 'citizen', name: page.name }
  res.locals.csrfToken = csrfToken
  res.locals.subject = page.subject as never
  res.render('pages/citizen/samples', page.result)
})

const server = http.createServer(app)
server.listen(Number(values.port), '127.0.0.1')
const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
