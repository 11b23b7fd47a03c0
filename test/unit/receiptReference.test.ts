// Receipt references: the year is Denmark's, so a change just after midnight on New Year's Day gets the new year.
import { expect } from 'chai'
import { newReceiptReference } from '../../server/services/optOutService.ts'

describe('receipt reference', () => {
  it("uses the year in Denmark, not in UTC", () => {
    expect(newReceiptReference(new Date('2026-12-31T23:30:00Z'))).to.match(/^VAR-2027-[0-9A-HJKMNP-TV-Z]{8}$/)
    expect(newReceiptReference(new Date('2026-12-31T22:30:00Z'))).to.match(/^VAR-2026-/)
  })

  it('is different every time (40 random bits)', () => {
    const references = new Set(Array.from({ length: 1000 }, () => newReceiptReference()))
    expect(references.size).to.equal(1000)
  })
})
