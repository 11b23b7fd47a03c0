import { expect } from 'chai'
import { diagnosisErrorMessage, normaliseDiagnosis, toSks } from '../../../server/domain/diagnosis.ts'

describe('diagnosis', () => {
  describe('normaliseDiagnosis', () => {
    const accepted: [string, string][] = [
      ['C50.9', 'C50.9'],
      ['C509', 'C50.9'],
      ['c50.9', 'C50.9'],
      [' C50.9 ', 'C50.9'],
      ['DC509', 'C50.9'],
      ['DC50.9', 'C50.9'],
      ['dc509', 'C50.9'],
      ['C50', 'C50'],
      ['DC50', 'C50'],
      ['E11.9', 'E11.9'],
      ['U07.1', 'U07.1'],
      // ICD-10 chapter D starts with D itself; its SKS form has two Ds.
      ['D50.9', 'D50.9'],
      ['D509', 'D50.9'],
      ['DD509', 'D50.9'],
      ['DD50', 'D50'],
      // Danish SKS extensions beyond the WHO subdivision are kept.
      ['DZ768A', 'Z76.8A'],
      ['M80.05', 'M80.05'],
    ]
    for (const [input, expected] of accepted) {
      it(`${JSON.stringify(input)} → ${expected}`, () => {
        expect(normaliseDiagnosis(input)).to.deep.equal({ ok: true, value: expected })
      })
    }

    it('reports empty input separately', () => {
      expect(normaliseDiagnosis('')).to.deep.equal({ ok: false, error: 'empty' })
      expect(normaliseDiagnosis(' ')).to.deep.equal({ ok: false, error: 'empty' })
    })

    const rejected = ['C5', '509', 'C50.', 'C50..9', 'C.509', 'DC.509', 'CC509', 'XDC509', 'C50.9 x', 'C50-9']
    rejected.push('C50.A', 'C50.9123', 'DDC509', 'Æ50.9')
    for (const input of rejected) {
      it(`rejects ${JSON.stringify(input)}`, () => {
        expect(normaliseDiagnosis(input)).to.deep.equal({ ok: false, error: 'format' })
      })
    }
  })

  describe('toSks', () => {
    it('converts ICD-10 to SKS', () => {
      expect(toSks('C50.9')).to.equal('DC509')
      expect(toSks('C50')).to.equal('DC50')
      expect(toSks('D50.9')).to.equal('DD509')
      expect(toSks('c509')).to.equal('DC509')
    })

    it('leaves an SKS code as SKS', () => {
      expect(toSks('DC50.9')).to.equal('DC509')
      expect(toSks('DZ768A')).to.equal('DZ768A')
    })

    it('round-trips with normaliseDiagnosis', () => {
      for (const code of ['C50.9', 'C50', 'D50.9', 'Z76.8A']) {
        expect(normaliseDiagnosis(toSks(code))).to.deep.equal({ ok: true, value: code })
      }
    })

    it('throws on an invalid code without echoing it', () => {
      expect(() => toSks('1503724518')).to.throw(RangeError).that.satisfies((e: Error) => !e.message.includes('1503724518'))
    })
  })

  describe('diagnosisErrorMessage', () => {
    it('has distinct Danish and English text with examples', () => {
      expect(diagnosisErrorMessage('format', 'da')).to.match(/ICD-10/).and.match(/SKS/)
      expect(diagnosisErrorMessage('format', 'en')).to.match(/ICD-10/).and.match(/SKS/)
      expect(diagnosisErrorMessage('format', 'da')).to.not.equal(diagnosisErrorMessage('format', 'en'))
      expect(diagnosisErrorMessage('empty', 'da')).to.not.equal(diagnosisErrorMessage('empty', 'en'))
    })
  })
})
