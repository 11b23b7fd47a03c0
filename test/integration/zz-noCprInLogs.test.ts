// The last file of the run (mocha takes spec files in alphabetical order): no CPR number of a demo person, or of
// any donor in the test database, appears in any log line that any app of this mocha process wrote
// (test/support/testApp.ts collects them all in capturedLogLines). Before looking, it does the things most likely
// to put a CPR number into a log itself, so it means something when run on its own as well.
import { expect } from 'chai'
import { capturedLogLines } from '../support/testApp.ts'
import { demoCitizens } from '../../seeders/demoPeople.ts'
import { SecurityContext } from './security/harness.ts'

/** Every way a CPR number is written: 1503724518, 150372-4518, 150372 4518. */
const spellings = (cpr: string) => [cpr, `${cpr.slice(0, 6)}-${cpr.slice(6)}`, `${cpr.slice(0, 6)} ${cpr.slice(6)}`]

describe('no CPR number in any log line of the test run', function () {
  this.timeout(120_000)
  let ctx: SecurityContext
  let donorCprs: string[] = []

  before(async () => {
    ctx = await SecurityContext.start()
    const anne = demoCitizens.find((c) => c.userId === 'anne')!.cpr
    const dashed = `${anne.slice(0, 6)}-${anne.slice(6)}`
    // Sign-ins carry the CPR claim; staff type CPR numbers into searches and forms, good and bad.
    for (const citizen of ['anne', 'dorte', 'bo'] as const) await ctx.as(citizen)
    const henrik = await ctx.as('henrik')
    const token = await ctx.csrf('henrik')
    for (const cpr of [anne, dashed, `${anne}9`, `${anne.slice(0, 6)}-45`]) await ctx.postForm(henrik, '/medarbejder/soeg/cpr', { _csrf: token, cpr })
    await ctx.postForm(henrik, '/medarbejder/fravalg', { _csrf: token, cpr: dashed, formToken: 'not-a-token' })
    await ctx.postForm(henrik, '/medarbejder/proever/ny', { _csrf: token, donorCpr: dashed, label: anne })
    // CPR numbers where they must never be: in a path and a query string (the access log records paths).
    await ctx.get(henrik, `/medarbejder/proever/${anne}`)
    await ctx.get(henrik, `/medarbejder/soeg?label=${anne}`)
    await ctx.get(await ctx.as('anne'), `/borger/proever/${dashed}`)
    await ctx.get(undefined, `/${anne}`)
    // The CPR number of every donor of the test database, read the way authorised staff would see it.
    const donors = await ctx.query<{ cpr_encrypted: Buffer }>('select cpr_encrypted from donors')
    donorCprs = donors.map((d) => ctx.services.cpr.decrypt(d.cpr_encrypted))
  })
  after(async () => {
    await ctx?.close()
  })

  it('has log lines to look at, including the requests above with their paths', () => {
    expect(capturedLogLines.length).to.be.greaterThan(20)
    // The request for a path holding anne's number was logged, with the number redacted.
    expect(capturedLogLines.some((line) => line.includes('/medarbejder/proever/[CPR]'))).to.equal(true)
    expect(donorCprs.length).to.be.greaterThan(40)
  })

  it('finds no demo CPR number and no donor CPR number, in any spelling, in any of them', () => {
    const cprs = new Set([...demoCitizens.map((c) => c.cpr), ...donorCprs])
    const found: string[] = []
    for (const cpr of cprs) {
      for (const spelling of spellings(cpr)) {
        // Not inside a longer run of digits (a millisecond timestamp is 13 digits).
        const pattern = new RegExp(`(?<!\\d)${spelling}(?!\\d)`)
        const line = capturedLogLines.find((l) => pattern.test(l))
        // The message names the line, not the number (a test report is a log too).
        if (line) found.push(`a CPR number born ${spelling.slice(0, 6)} in: ${line.split(spelling).join('[HERE]').slice(0, 300)}`)
      }
    }
    expect(found).to.deep.equal([])
  })
})
