// The floor of the start-up scenario: the least a process of this project can do to answer GET /readyz 200 on the
// bench data folder. Node with tsx, the configuration, the embedded cluster found (or started, when it is not
// running), one PostgreSQL connection and `select 1`; no migrations, no services, no Express app.
//
//   node --import tsx bench/floorStartup.ts --port N --data-dir .data/bench --pg-port P
import http from 'node:http'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { loadConfig } from '../server/config.ts'
import { locateDatabase } from '../server/db/database.ts'

const { values } = parseArgs({ options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'pg-port': { type: 'string' } }, strict: true })
const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: values['data-dir']!, LOG_LEVEL: 'warn', PORT: values.port!, EMBEDDED_PG_PORT: values['pg-port']! })
const location = await locateDatabase(config)
const client = new pg.Client({ connectionString: location.url })
await client.connect()

const server = http.createServer((req, res) => {
  if (req.url !== '/readyz') {
    res.statusCode = 404
    res.end()
    return
  }
  client.query('select 1').then(
    () => res.end('{"status":"UP"}'),
    () => {
      res.statusCode = 503
      res.end()
    },
  )
})
server.listen(Number(values.port), '127.0.0.1')

const stop = () => {
  server.close()
  void client
    .end()
    .catch(() => undefined)
    .then(() => location.stop())
    .finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
