import { expect } from 'chai'
import { randomBytes } from 'node:crypto'
import { CprDecryptionError, createCprProtector } from '../../../server/domain/cprCrypto.ts'

const hmacKey = Buffer.alloc(32, 0x11)
const encryptionKey = Buffer.alloc(32, 0x22)
const CPR = '1503724518'

function flipByte(data: Buffer, index: number): Buffer {
  const copy = Buffer.from(data)
  copy[index] = (copy[index] ?? 0) ^ 0x01
  return copy
}

describe('cprCrypto', () => {
  const protector = createCprProtector({ hmacKey, encryptionKey })

  describe('keys', () => {
    it('requires both keys to be exactly 32 bytes', () => {
      expect(() => createCprProtector({ hmacKey: Buffer.alloc(31), encryptionKey })).to.throw(RangeError, /hmacKey/)
      expect(() => createCprProtector({ hmacKey, encryptionKey: Buffer.alloc(33) })).to.throw(RangeError, /encryptionKey/)
      expect(() => createCprProtector({ hmacKey: Buffer.alloc(0), encryptionKey })).to.throw(RangeError)
    })

    it('rejects a key that is not a Buffer', () => {
      const notABuffer = 'x'.repeat(32) as unknown as Buffer
      expect(() => createCprProtector({ hmacKey: notABuffer, encryptionKey })).to.throw(RangeError)
    })

    it('rejects using the same key for both purposes', () => {
      expect(() => createCprProtector({ hmacKey, encryptionKey: Buffer.from(hmacKey) })).to.throw(RangeError, /differ/)
    })

    it('copies the keys, so later changes to the caller’s buffers have no effect', () => {
      const h = Buffer.from(hmacKey)
      const e = Buffer.from(encryptionKey)
      const own = createCprProtector({ hmacKey: h, encryptionKey: e })
      const hash = own.hash(CPR)
      const encrypted = own.encrypt(CPR)
      h.fill(0)
      e.fill(0)
      expect(own.hash(CPR).equals(hash)).to.equal(true)
      expect(own.decrypt(encrypted)).to.equal(CPR)
    })
  })

  describe('hash', () => {
    it('is a 32-byte HMAC-SHA256, deterministic', () => {
      const a = protector.hash(CPR)
      expect(a).to.have.length(32)
      expect(protector.hash(CPR).equals(a)).to.equal(true)
      expect(createCprProtector({ hmacKey, encryptionKey }).hash(CPR).equals(a)).to.equal(true)
    })

    it('normalises the written form before hashing', () => {
      expect(protector.hash(' 150372-4518 ').equals(protector.hash(CPR))).to.equal(true)
    })

    it('depends on the key and on the number', () => {
      const other = createCprProtector({ hmacKey: Buffer.alloc(32, 0x33), encryptionKey })
      expect(other.hash(CPR).equals(protector.hash(CPR))).to.equal(false)
      expect(protector.hash('1503724519').equals(protector.hash(CPR))).to.equal(false)
    })

    it('matches a fixed vector, so stored hashes stay valid across releases', () => {
      // HMAC-SHA256(key = 32 × 0x11, message = '1503724518')
      expect(protector.hash('150372-4518').toString('hex')).to.equal(
        '9b016357952988d9abaad95c5a4cb9854c120adc105bc8b85f47363993451db8',
      )
    })

    it('throws on malformed input without echoing it', () => {
      expect(() => protector.hash('15037245')).to.throw(TypeError).that.satisfies((e: Error) => !e.message.includes('15037245'))
    })
  })

  describe('encrypt and decrypt', () => {
    it('round-trips, returning the normalised 10 digits', () => {
      expect(protector.decrypt(protector.encrypt(CPR))).to.equal(CPR)
      expect(protector.decrypt(protector.encrypt('150372-4518'))).to.equal(CPR)
    })

    it('lays out version 1 | 12-byte IV | 16-byte tag | ciphertext', () => {
      const data = protector.encrypt(CPR)
      expect(data[0]).to.equal(1)
      expect(data).to.have.length(1 + 12 + 16 + 10)
      expect(data.includes(Buffer.from(CPR))).to.equal(false)
    })

    it('uses a fresh IV every time', () => {
      const a = protector.encrypt(CPR)
      const b = protector.encrypt(CPR)
      expect(a.subarray(1, 13).equals(b.subarray(1, 13))).to.equal(false)
      expect(a.equals(b)).to.equal(false)
    })

    it('detects tampering with the ciphertext, tag, IV or version', () => {
      const data = protector.encrypt(CPR)
      for (const index of [data.length - 1, 29, 20, 1]) {
        expect(() => protector.decrypt(flipByte(data, index)), `byte ${index}`).to.throw(CprDecryptionError, /tampered/)
      }
      expect(() => protector.decrypt(flipByte(data, 0))).to.throw(CprDecryptionError, /version/)
    })

    it('refuses a wrong key', () => {
      const other = createCprProtector({ hmacKey, encryptionKey: randomBytes(32) })
      expect(() => other.decrypt(protector.encrypt(CPR))).to.throw(CprDecryptionError, /wrong key/)
    })

    it('refuses truncated data', () => {
      const data = protector.encrypt(CPR)
      expect(() => protector.decrypt(data.subarray(0, 29))).to.throw(CprDecryptionError, /too short/)
      expect(() => protector.decrypt(data.subarray(0, data.length - 1))).to.throw(CprDecryptionError)
      expect(() => protector.decrypt(Buffer.alloc(0))).to.throw(CprDecryptionError)
    })

    it('never puts the number in an error message', () => {
      const data = protector.encrypt(CPR)
      try {
        protector.decrypt(flipByte(data, data.length - 1))
        expect.fail('should have thrown')
      } catch (error) {
        expect((error as Error).message).to.not.include(CPR)
        expect((error as Error).name).to.equal('CprDecryptionError')
      }
    })
  })
})
