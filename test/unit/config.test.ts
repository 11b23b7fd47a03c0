// The configuration fails fast and names the bad variable; production demands real secrets and issuers.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { expect } from 'chai'
import { loadConfig, ConfigError } from '../../server/config.ts'

describe('configuration', () => {
  let dataDir: string
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'biobank-config-'))
  })
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }))

  const load = (environment: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, ...environment })
  const errorOf = (fn: () => unknown): Error => {
    try {
      fn()
    } catch (error) {
      return error as Error
    }
    throw new Error('expected a configuration error')
  }

  it('has working defaults for development, with the development provider and generated secrets', () => {
    const config = load({})
    expect(config.port).to.equal(3000)
    expect(config.baseUrl).to.equal('http://localhost:3000')
    expect(config.database.url).to.equal(undefined)
    expect(config.database.embeddedPort).to.equal(54329)
    expect(config.auth.useDevProvider).to.equal(true)
    expect(config.auth.citizen.issuer).to.equal('http://localhost:3000/oidc')
    expect(config.auth.citizen.cprClaim).to.equal('dk.cpr')
    expect(config.auth.citizen.minLoa).to.equal('Substantial')
    expect(config.auth.idleMinutes.citizen).to.equal(15)
    expect(config.secrets.cprHmacKey).to.have.length(32)
    expect(config.secrets.cprEncryptionKey).to.have.length(32)
    expect(config.secrets.cprHmacKey.equals(config.secrets.cprEncryptionKey)).to.equal(false)
  })

  it('keeps the generated development secrets in the data folder across restarts', () => {
    const first = load({})
    const second = load({})
    expect(second.secrets.session).to.equal(first.secrets.session)
    expect(second.secrets.cprHmacKey.equals(first.secrets.cprHmacKey)).to.equal(true)
    expect(fs.statSync(path.join(dataDir, 'secrets.json')).mode & 0o077).to.equal(0)
  })

  it('names the bad variable', () => {
    const error = errorOf(() => load({ PORT: 'eighty' }))
    expect(error).to.be.instanceOf(ConfigError)
    expect(error.message).to.contain('PORT')
    expect(errorOf(() => load({ CPR_HMAC_KEY: 'too-short' })).message).to.contain('CPR_HMAC_KEY')
    expect(errorOf(() => load({ NODE_ENV: 'staging' })).message).to.contain('NODE_ENV')
    expect(errorOf(() => load({ DATABASE_URL: 'not a url' })).message).to.contain('DATABASE_URL')
  })

  it('refuses to start in production without secrets, database, base URL or a real issuer', () => {
    const error = errorOf(() => load({ NODE_ENV: 'production' }))
    for (const name of ['SESSION_SECRET', 'CPR_HMAC_KEY', 'CPR_ENCRYPTION_KEY', 'DATABASE_URL', 'BASE_URL']) expect(error.message).to.contain(name)
    const secrets = {
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(40),
      CPR_HMAC_KEY: 'a'.repeat(64),
      CPR_ENCRYPTION_KEY: 'b'.repeat(64),
      DATABASE_URL: 'postgres://app@db.internal/biobank',
      BASE_URL: 'https://biobank.example',
    }
    // The development provider never runs in production.
    expect(errorOf(() => load(secrets)).message).to.contain('OIDC_ISSUER')
    const issuers = {
      CITIZEN_OIDC_ISSUER: 'https://broker.example',
      CITIZEN_OIDC_CLIENT_ID: 'c',
      CITIZEN_OIDC_CLIENT_SECRET: 's',
      STAFF_OIDC_ISSUER: 'https://staff.example',
      STAFF_OIDC_CLIENT_ID: 'c2',
      STAFF_OIDC_CLIENT_SECRET: 's2',
    }
    const config = load({ ...secrets, ...issuers })
    expect(config.production).to.equal(true)
    expect(config.auth.useDevProvider).to.equal(false)
    expect(config.seedDemoData).to.equal(false)
    expect(config.auth.citizen.redirectUri).to.equal('https://biobank.example/auth/borger/callback')
    // Nothing was written to the data folder: production secrets come from the environment only.
    expect(fs.existsSync(path.join(dataDir, 'secrets.json'))).to.equal(false)
  })

  it('requires a client id and secret once an issuer is configured', () => {
    const error = errorOf(() => load({ CITIZEN_OIDC_ISSUER: 'https://broker.example' }))
    expect(error.message).to.contain('CITIZEN_OIDC_CLIENT_ID')
    expect(error.message).to.contain('STAFF_OIDC_ISSUER')
  })
})
