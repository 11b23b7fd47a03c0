// The embedded PostgreSQL as an operator meets it: a second process shares the running cluster, and a taken
// port or a broken data folder is one clear line, not a stack trace.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { expect } from 'chai'
import pg from 'pg'
import { loadConfig, projectRoot } from '../../server/config.ts'
import { startEmbeddedPostgres, tryLoopbackPort, type EmbeddedPostgresHandle } from '../../server/db/embeddedPostgres.ts'

const dataDir = path.join(projectRoot, '.data', 'test-embedded')
let port = 0

/** A port nobody listens on right now. */
const freePort = async () => (await tryLoopbackPort(0))!

/** Runs `npm run db:migrate` as a separate process, as an operator would while the server runs. */
function migrateCli(environment: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/migrate.ts'], {
    cwd: projectRoot,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'silent', DATABASE_URL: '', ...environment },
    encoding: 'utf8',
    timeout: 60_000,
  })
}

describe('embedded PostgreSQL', function () {
  this.timeout(120_000)
  let cluster: EmbeddedPostgresHandle | undefined

  before(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true })
    port = await freePort()
  })
  after(async () => {
    await cluster?.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it('is created on first start and reused by a second process while it runs', async () => {
    const config = loadConfig({ DATA_DIR: dataDir })
    cluster = await startEmbeddedPostgres({ dataDir, port, password: config.secrets.embeddedPostgresPassword, database: 'biobank' })
    expect(cluster.reused).to.equal(false)
    expect(cluster.displayUrl).to.equal(`postgres://postgres@127.0.0.1:${port}/biobank`)
    expect(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).to.equal(true)

    const cli = migrateCli({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) })
    expect(cli.status, cli.stderr).to.equal(0)

    // The CLI migrated the shared cluster and left it running for the first process.
    const client = new pg.Client({ connectionString: cluster.url })
    await client.connect()
    const { rows } = await client.query<{ name: string }>('select name from schema_migrations order by name')
    await client.end()
    expect(rows.map((r) => r.name)).to.include('2026-11-26T0001-initial-schema')

    const again = await startEmbeddedPostgres({ dataDir, port, password: config.secrets.embeddedPostgresPassword, database: 'biobank' })
    expect(again.reused).to.equal(true)
  })

  it('explains a taken port in one line', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const taken = (blocker.address() as net.AddressInfo).port
    try {
      const cli = migrateCli({ DATA_DIR: path.join(dataDir, 'other'), EMBEDDED_PG_PORT: String(taken) })
      expect(cli.status).to.equal(1)
      const lines = cli.stderr.trim().split('\n')
      expect(lines).to.have.length(1)
      expect(lines[0]).to.contain(`Port ${taken}`).and.to.contain('EMBEDDED_PG_PORT')
    } finally {
      blocker.close()
    }
  })

  it('explains a broken data folder in one line', async () => {
    const broken = path.join(dataDir, 'broken')
    fs.mkdirSync(path.join(broken, 'pg'), { recursive: true })
    fs.writeFileSync(path.join(broken, 'pg', 'leftover.txt'), 'not a cluster')
    const cli = migrateCli({ DATA_DIR: broken, EMBEDDED_PG_PORT: String(await freePort()) })
    expect(cli.status).to.equal(1)
    const lines = cli.stderr.trim().split('\n')
    expect(lines).to.have.length(1)
    expect(lines[0]).to.contain('not an intact PostgreSQL cluster')
  })
})
