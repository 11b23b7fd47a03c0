import { expect } from 'chai'
import { cprShapedText } from '../support/cprShape.ts'

// The leak checks of the label sheet and the browser URLs rely on this; CI once failed by chance on a sample id.
describe('the test suite’s CPR-shape finder', () => {
  it('finds a CPR number with a dash, without one, and with a percent-encoded dash', () => {
    expect(cprShapedText('label for 010190-1234 here')).to.equal('010190-1234')
    expect(cprShapedText('/soeg?cpr=0101901234')).to.equal('0101901234')
    expect(cprShapedText('/soeg?cpr=010190%2D1234')).to.equal('010190%2D1234')
  })

  it('ignores longer digit runs and digits that cannot be a date', () => {
    expect(cprShapedText('id 12345678901234')).to.equal(undefined)
    expect(cprShapedText('990190-1234')).to.equal(undefined)
  })

  it('ignores a random sample id whose hex digits happen to look like one', () => {
    // "…0112345-6789…" across the first dash of a UUID: the shape that made CI red.
    const sampleId = 'ab010190-1234-4def-8abc-0123456789ab'
    expect(cprShapedText(`<li data-public-id="${sampleId}">`)).to.equal(undefined)
    expect(cprShapedText(`/medarbejder/proever/${sampleId}`)).to.equal(undefined)
    expect(cprShapedText(`/medarbejder/proever/${sampleId}?cpr=010190-1234`)).to.equal('010190-1234')
  })

  it('ignores an import job id whose hex digits happen to look like one', () => {
    // The id of a CI run that went red: "0713976430" inside 32 hex digits.
    const jobUrl = 'http://127.0.0.1:37555/medarbejder/import/96ef0aaacf0713976430e06f69c84f6e'
    expect(cprShapedText(jobUrl)).to.equal(undefined)
    expect(cprShapedText(`${jobUrl}?cpr=0101901234`)).to.equal('0101901234')
    // Only a whole 32-digit token is an id: a CPR number beside hex letters is still found.
    expect(cprShapedText('/x/abcdef0101901234')).to.equal('0101901234')
  })
})
