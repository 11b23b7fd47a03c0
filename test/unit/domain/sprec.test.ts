import { expect } from 'chai'
import { SPREC_FLUID_SAMPLE_TYPES, sprecErrorMessage, validateSprec } from '../../../server/domain/sprec.ts'
import type { SprecError } from '../../../server/domain/sprec.ts'

describe('sprec', () => {
  describe('validateSprec', () => {
    it('accepts the DOMAIN.md example', () => {
      expect(validateSprec('SER-SST-A-D-N-A-D')).to.deep.equal({ ok: true, value: 'SER-SST-A-D-N-A-D' })
    })

    it('normalises to upper case and trims', () => {
      expect(validateSprec('  pl1-ped-b-e-n-a-d ')).to.deep.equal({ ok: true, value: 'PL1-PED-B-E-N-A-D' })
    })

    it('accepts digits in the two 3-character elements', () => {
      expect(validateSprec('U24-XXX-X-X-X-X-X').ok).to.equal(true)
      expect(validateSprec('PL2-ZZZ-A-B-C-D-E').ok).to.equal(true)
    })

    it('knows the common fluid sample types', () => {
      for (const type of ['BLD', 'SER', 'PL1', 'PL2', 'PLC', 'URN', 'SAL', 'CSF', 'BUF', 'DWB', 'RBC', 'CRD', 'ZZZ', 'XXX']) {
        expect(SPREC_FLUID_SAMPLE_TYPES, type).to.include(type)
        expect(validateSprec(`${type}-SST-A-D-N-A-D`).ok, type).to.equal(true)
      }
    })

    it('reports empty input separately', () => {
      expect(validateSprec('')).to.deep.equal({ ok: false, error: 'empty' })
      expect(validateSprec('  ')).to.deep.equal({ ok: false, error: 'empty' })
    })

    for (const input of [
      'SER-SST-A-D-N-A',
      'SER-SST-A-D-N-A-D-X',
      'SE-SST-A-D-N-A-D',
      'SERX-SST-A-D-N-A-D',
      'SER-SS-A-D-N-A-D',
      'SER-SST-1-D-N-A-D',
      'SER-SST-AB-D-N-A-D',
      'SER_SST_A_D_N_A_D',
      'SER SST A D N A D',
      'SER-SST-A-D-N-A-D-',
      'SER--SST-A-D-N-A-D',
      'SERSSTADNAD',
      'SÉR-SST-A-D-N-A-D',
    ]) {
      it(`rejects the shape of ${JSON.stringify(input)}`, () => {
        expect(validateSprec(input)).to.deep.equal({ ok: false, error: 'format' })
      })
    }

    it('rejects an unknown sample type with its own error', () => {
      expect(validateSprec('FOO-SST-A-D-N-A-D')).to.deep.equal({ ok: false, error: 'sample_type' })
      expect(validateSprec('TIS-SST-A-D-N-A-D')).to.deep.equal({ ok: false, error: 'sample_type' })
    })
  })

  describe('sprecErrorMessage', () => {
    it('has distinct Danish and English text for every error', () => {
      for (const error of ['empty', 'format', 'sample_type'] satisfies SprecError[]) {
        const da = sprecErrorMessage(error, 'da')
        const en = sprecErrorMessage(error, 'en')
        expect(da).to.match(/SPREC/)
        expect(en).to.match(/SPREC/)
        expect(da).to.not.equal(en)
      }
    })
  })
})
