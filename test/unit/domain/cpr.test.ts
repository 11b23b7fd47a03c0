import { expect } from 'chai'
import {
  ageOn,
  birthYear,
  cprErrorMessage,
  formatCpr,
  isUnder15,
  maskCpr,
  normaliseCpr,
  parseCpr,
  redactCprs,
} from '../../../server/domain/cpr.ts'
import type { CprError, CprResult } from '../../../server/domain/cpr.ts'

const utc = (y: number, m: number, d: number): Date => new Date(Date.UTC(y, m - 1, d))
// Far enough ahead that every 2000s birth year below is in the past.
const LATE_NOW = utc(2060, 1, 1)

function birthDateOf(result: CprResult): string {
  if (!result.ok) throw new Error(`expected ok, got ${result.error}`)
  return result.birthDate.toISOString().slice(0, 10)
}

describe('cpr', () => {
  describe('parseCpr', () => {
    it('accepts the plain 10-digit form', () => {
      const result = parseCpr('1503724518', LATE_NOW)
      expect(result).to.deep.equal({ ok: true, cpr: '1503724518', birthDate: utc(1972, 3, 15) })
    })

    it('accepts the dash form and trims whitespace, normalising to 10 digits', () => {
      const result = parseCpr('  150372-4518\n', LATE_NOW)
      expect(result.ok && result.cpr).to.equal('1503724518')
    })

    it('returns the birth date at UTC midnight', () => {
      const result = parseCpr('1503724518', LATE_NOW)
      expect(result.ok && result.birthDate.toISOString()).to.equal('1972-03-15T00:00:00.000Z')
    })

    it('does not apply the modulus-11 check', () => {
      const weights = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1]
      const sum = [...'1503724518'].reduce((acc, digit, i) => acc + Number(digit) * (weights[i] ?? 0), 0)
      expect(sum % 11, 'fixture must fail modulus 11').to.not.equal(0)
      expect(parseCpr('1503724518', LATE_NOW).ok).to.equal(true)
    })

    describe('century rule', () => {
      const cases: [string, string, string][] = [
        ['0101000000', '1900-01-01', '7th digit 0: 1900s'],
        ['0101991000', '1999-01-01', '7th digit 1: 1900s'],
        ['0101002000', '1900-01-01', '7th digit 2: 1900s'],
        ['0101363000', '1936-01-01', '7th digit 3: 1900s even for YY 36'],
        ['0101364000', '2036-01-01', '7th digit 4, YY 36: 2000s'],
        ['0101374000', '1937-01-01', '7th digit 4, YY 37: 1900s'],
        ['0101004000', '2000-01-01', '7th digit 4, YY 00: 2000s'],
        ['0101369000', '2036-01-01', '7th digit 9, YY 36: 2000s'],
        ['0101379000', '1937-01-01', '7th digit 9, YY 37: 1900s'],
        ['0101575000', '2057-01-01', '7th digit 5, YY 57: 2000s'],
        ['0101585000', '1858-01-01', '7th digit 5, YY 58: 1800s'],
        ['0101576000', '2057-01-01', '7th digit 6, YY 57: 2000s'],
        ['0101586000', '1858-01-01', '7th digit 6, YY 58: 1800s'],
        ['0101577000', '2057-01-01', '7th digit 7, YY 57: 2000s'],
        ['0101587000', '1858-01-01', '7th digit 7, YY 58: 1800s'],
        ['0101578000', '2057-01-01', '7th digit 8, YY 57: 2000s'],
        ['0101998000', '1899-01-01', '7th digit 8, YY 99: 1800s'],
      ]
      for (const [cpr, expected, why] of cases) {
        it(`${why} (${expected})`, () => {
          expect(birthDateOf(parseCpr(cpr, LATE_NOW))).to.equal(expected)
        })
      }

      it('birthYear covers every 7th digit', () => {
        expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => birthYear(10, d))).to.deep.equal([
          1910, 1910, 1910, 1910, 2010, 2010, 2010, 2010, 2010, 2010,
        ])
        expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => birthYear(60, d))).to.deep.equal([
          1960, 1960, 1960, 1960, 1960, 1860, 1860, 1860, 1860, 1960,
        ])
      })
    })

    describe('calendar dates', () => {
      it('accepts 29 February in a leap year (2000)', () => {
        expect(birthDateOf(parseCpr('2902004000', LATE_NOW))).to.equal('2000-02-29')
      })

      it('accepts 29 February in a leap year of the 1800s (1896)', () => {
        expect(birthDateOf(parseCpr('2902965000', LATE_NOW))).to.equal('1896-02-29')
      })

      it('rejects 29 February 1900, which was not a leap year', () => {
        expect(parseCpr('2902001000', LATE_NOW)).to.deep.equal({ ok: false, error: 'date' })
      })

      it('rejects 29 February in a common year (2001)', () => {
        expect(parseCpr('2902014000', LATE_NOW)).to.deep.equal({ ok: false, error: 'date' })
      })

      for (const [cpr, why] of [
        ['3102721234', '31 February'],
        ['3104721234', '31 April'],
        ['0001721234', 'day 0'],
        ['3201721234', 'day 32'],
        ['0100721234', 'month 0'],
        ['0113721234', 'month 13'],
      ]) {
        it(`rejects ${why}`, () => {
          expect(parseCpr(cpr ?? '', LATE_NOW)).to.deep.equal({ ok: false, error: 'date' })
        })
      }
    })

    describe('future birth dates', () => {
      const now = new Date('2025-06-15T10:00:00Z')

      it('rejects a birth date after now', () => {
        expect(parseCpr('1606254000', now)).to.deep.equal({ ok: false, error: 'future' })
        expect(parseCpr('0101304000', now)).to.deep.equal({ ok: false, error: 'future' })
      })

      it('accepts someone born today', () => {
        expect(birthDateOf(parseCpr('1506254000', now))).to.equal('2025-06-15')
      })

      it('defaults now to the current time', () => {
        expect(parseCpr('0101575000').ok).to.equal(false)
        expect(parseCpr('1503724518').ok).to.equal(true)
      })
    })

    describe('format', () => {
      it('reports empty input separately', () => {
        expect(parseCpr('')).to.deep.equal({ ok: false, error: 'empty' })
        expect(parseCpr('   ')).to.deep.equal({ ok: false, error: 'empty' })
      })

      for (const input of [
        '150372451',
        '15037245188',
        '150372-451',
        '1503-724518',
        '150372--4518',
        '150372 4518',
        '15.03.72-4518',
        'abcdefghij',
        '15037245I8',
        '+1503724518',
        '150372-4518x',
        '１５０３７２４５１８',
      ]) {
        it(`rejects ${JSON.stringify(input)}`, () => {
          expect(parseCpr(input, LATE_NOW)).to.deep.equal({ ok: false, error: 'format' })
        })
      }
    })
  })

  describe('normaliseCpr', () => {
    it('strips the dash and whitespace, without checking the date', () => {
      expect(normaliseCpr(' 150372-4518 ')).to.equal('1503724518')
      expect(normaliseCpr('9999999999')).to.equal('9999999999')
      expect(normaliseCpr('15037245')).to.equal(undefined)
    })
  })

  describe('cprErrorMessage', () => {
    const errors: CprError[] = ['empty', 'format', 'date', 'future']

    it('has distinct Danish and English text for every error', () => {
      for (const error of errors) {
        const da = cprErrorMessage(error, 'da')
        const en = cprErrorMessage(error, 'en')
        expect(da, error).to.be.a('string').and.not.be.empty
        expect(en, error).to.be.a('string').and.not.be.empty
        expect(da, error).to.not.equal(en)
      }
      expect(cprErrorMessage('format', 'da')).to.match(/CPR-nummer/)
    })

    it('never contains anything shaped like a CPR', () => {
      for (const error of errors) {
        for (const lang of ['da', 'en'] as const) expect(cprErrorMessage(error, lang)).to.not.match(/\d{6}/)
      }
    })
  })

  describe('maskCpr and formatCpr', () => {
    it('masks the serial part', () => {
      expect(maskCpr('1503724518')).to.equal('150372-****')
      expect(maskCpr('150372-4518')).to.equal('150372-****')
    })

    it('formats with a dash', () => {
      expect(formatCpr('1503724518')).to.equal('150372-4518')
      expect(formatCpr('150372-4518')).to.equal('150372-4518')
    })

    it('throws on a malformed number without echoing it', () => {
      expect(() => maskCpr('15037245')).to.throw(Error).that.satisfies((e: Error) => !e.message.includes('15037245'))
      expect(() => formatCpr('abc')).to.throw(Error)
    })
  })

  describe('ageOn and isUnder15', () => {
    const birth = utc(2010, 6, 15)

    it('is 14 the day before the 15th birthday and 15 on it', () => {
      expect(ageOn(birth, new Date('2025-06-14T23:59:59Z'))).to.equal(14)
      expect(ageOn(birth, new Date('2025-06-15T00:00:00Z'))).to.equal(15)
      expect(isUnder15(birth, new Date('2025-06-14T12:00:00Z'))).to.equal(true)
      expect(isUnder15(birth, new Date('2025-06-15T12:00:00Z'))).to.equal(false)
    })

    it('counts full years across month boundaries', () => {
      expect(ageOn(birth, utc(2025, 5, 31))).to.equal(14)
      expect(ageOn(birth, utc(2025, 7, 1))).to.equal(15)
      expect(ageOn(birth, utc(2010, 6, 15))).to.equal(0)
      expect(ageOn(utc(1972, 3, 15), utc(2025, 3, 14))).to.equal(52)
    })

    it('turns someone born 29 February a year older on 1 March in a common year', () => {
      const leapling = utc(2008, 2, 29)
      expect(ageOn(leapling, utc(2023, 2, 28))).to.equal(14)
      expect(ageOn(leapling, utc(2023, 3, 1))).to.equal(15)
      expect(ageOn(leapling, utc(2024, 2, 29))).to.equal(16)
    })
  })

  describe('redactCprs', () => {
    it('redacts both written forms in log-like text', () => {
      expect(redactCprs('lookup cpr=1503724518 ok')).to.equal('lookup cpr=[CPR] ok')
      expect(redactCprs('citizen 150372-4518 signed in')).to.equal('citizen [CPR] signed in')
      expect(redactCprs('{"dk.cpr":"1503724518","loa":"substantial"}')).to.equal('{"dk.cpr":"[CPR]","loa":"substantial"}')
    })

    it('redacts several numbers on one line and stays correct across calls', () => {
      const line = 'a=1503724518 b=0101364000;c=290200-4000'
      expect(redactCprs(line)).to.equal('a=[CPR] b=[CPR];c=[CPR]')
      expect(redactCprs(line)).to.equal('a=[CPR] b=[CPR];c=[CPR]')
    })

    it('redacts numbers that fail modulus 11 or lie in the future', () => {
      expect(redactCprs('x 0101575000 y')).to.equal('x [CPR] y')
    })

    it('leaves longer digit runs alone', () => {
      for (const text of ['order 123456789012', 'id 91503724518', 'id 15037245189', 'n 150372-45181', 'n 9150372-4518']) {
        expect(redactCprs(text)).to.equal(text)
      }
    })

    it('leaves timestamps and other numbers alone', () => {
      for (const text of [
        '2025-06-15T10:00:00.123Z GET /samples 200',
        'took 1234 ms, 20250615-1200',
        'epoch ms 1749981600000',
        'phone +45 12345678',
      ]) {
        expect(redactCprs(text)).to.equal(text)
      }
    })

    it('leaves 10-digit runs whose first six digits are not a date', () => {
      expect(redactCprs('ref 3213724518')).to.equal('ref 3213724518')
      expect(redactCprs('ref 1513724518')).to.equal('ref 1513724518')
      expect(redactCprs('ref 2902001000')).to.equal('ref 2902001000')
    })
  })
})
