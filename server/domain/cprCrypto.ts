// Keyed hash (lookup) and authenticated encryption (display) of CPR numbers, so the plain number is never stored.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { normaliseCpr } from './cpr.ts'

const KEY_LENGTH = 32
const VERSION = 1
const IV_LENGTH = 12
const TAG_LENGTH = 16
const HEADER_LENGTH = 1 + IV_LENGTH + TAG_LENGTH

export interface CprProtectorKeys {
  readonly hmacKey: Buffer
  readonly encryptionKey: Buffer
}

export interface CprProtector {
  /** HMAC-SHA256 of the 10 digits; deterministic, so it can be indexed and looked up. */
  hash(cpr: string): Buffer
  /** version (1) | IV (12) | GCM tag (16) | ciphertext; a fresh random IV every call. */
  encrypt(cpr: string): Buffer
  /** The 10 digits; throws CprDecryptionError on a wrong key, tampering or an unknown format. */
  decrypt(data: Buffer): string
}

export class CprDecryptionError extends Error {
  constructor(reason: string) {
    super(`Could not decrypt CPR: ${reason}`)
    this.name = 'CprDecryptionError'
  }
}

function digitsOrThrow(cpr: string): string {
  const digits = normaliseCpr(cpr)
  // Leave the input out of the message: it may be a CPR.
  if (digits === undefined) throw new TypeError('Expected a 10-digit CPR number')
  return digits
}

export function createCprProtector(keys: CprProtectorKeys): CprProtector {
  for (const [name, key] of Object.entries(keys) as [string, unknown][]) {
    if (!Buffer.isBuffer(key) || key.length !== KEY_LENGTH) {
      throw new RangeError(`CPR ${name} must be exactly ${KEY_LENGTH} bytes`)
    }
  }
  // One key for two algorithms would tie their security together.
  if (keys.hmacKey.equals(keys.encryptionKey)) {
    throw new RangeError('CPR hmacKey and encryptionKey must differ')
  }
  // Private copies, so a caller zeroing or reusing its buffer cannot change ours.
  const hmacKey = Buffer.from(keys.hmacKey)
  const encryptionKey = Buffer.from(keys.encryptionKey)
  const version = Buffer.from([VERSION])

  return {
    hash(cpr) {
      return createHmac('sha256', hmacKey).update(digitsOrThrow(cpr), 'utf8').digest()
    },

    encrypt(cpr) {
      const iv = randomBytes(IV_LENGTH)
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_LENGTH })
      // The version byte is authenticated too, so it cannot be swapped later.
      cipher.setAAD(version)
      const ciphertext = Buffer.concat([cipher.update(digitsOrThrow(cpr), 'utf8'), cipher.final()])
      return Buffer.concat([version, iv, cipher.getAuthTag(), ciphertext])
    },

    decrypt(data) {
      if (!Buffer.isBuffer(data) || data.length <= HEADER_LENGTH) throw new CprDecryptionError('data too short')
      if (data[0] !== VERSION) throw new CprDecryptionError('unknown format version')
      const iv = data.subarray(1, 1 + IV_LENGTH)
      const tag = data.subarray(1 + IV_LENGTH, HEADER_LENGTH)
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, iv, { authTagLength: TAG_LENGTH })
      decipher.setAAD(version)
      decipher.setAuthTag(tag)
      let plain: string
      try {
        plain = Buffer.concat([decipher.update(data.subarray(HEADER_LENGTH)), decipher.final()]).toString('utf8')
      } catch {
        throw new CprDecryptionError('wrong key or tampered data')
      }
      if (!/^\d{10}$/.test(plain)) throw new CprDecryptionError('not a CPR number')
      return plain
    },
  }
}
