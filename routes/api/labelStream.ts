// Reading an eligibility request's labels as the body arrives, so a million labels never sit in memory as one JSON
// document. Three shapes of body:
//   application/json      {"project": <id or reference>, "labels": ["...", ...]}  (the keys in any order)
//   application/x-ndjson  one JSON string per line                                   (project in ?project=)
//   text/plain            one label per line                                        (project in ?project=)
// The JSON reader is a small streaming tokenizer for exactly that shape (stream-json is not installed). Every
// mistake is a RequestShapeError with a JSON path, which the API answers as 400 { error, details }.

/** A body that is not the shape the API takes. `path` is where, as zod reports paths (e.g. ["labels", 12]). */
export class RequestShapeError extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[] = [],
  ) {
    super(message)
  }
}

/** A body larger than the API takes. */
export class BodyTooLargeError extends Error {}

type Token =
  | { kind: 'punct'; value: '{' | '}' | '[' | ']' | ':' | ',' }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'literal'; value: true | false | null }

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const LITERALS: Record<string, true | false | null> = { true: true, false: false, null: null }
/** The longest single token kept while waiting for its end (a label is at most 64 characters). */
const MAX_PENDING = 64 * 1024

function describe(token: Token): string {
  if (token.kind === 'punct') return `"${token.value}"`
  if (token.kind === 'string') return 'a string'
  if (token.kind === 'number') return 'a number'
  return String(token.value)
}

/** JSON forbids the characters below U+0020 unescaped inside a string. */
function hasRawControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true
  return false
}

/** Splits JSON text into tokens across chunk boundaries. */
class Tokenizer {
  /** The tokens complete in `chunk` (with what was left from the chunk before). */
  *tokens(chunk: string, final: boolean): Generator<Token> {
    const text = this.pending + chunk
    this.pending = ''
    let i = 0
    const length = text.length
    while (i < length) {
      const c = text.charCodeAt(i)
      // Whitespace: space, tab, line feed, carriage return.
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        i++
        continue
      }
      if (c === 0x7b || c === 0x7d || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2c) {
        i++
        yield { kind: 'punct', value: text[i - 1] as '{' }
        continue
      }
      if (c === 0x22) {
        // A string: find the closing quote that no backslash escapes.
        let end = i + 1
        let escaped = false
        for (;;) {
          end = text.indexOf('"', end)
          if (end < 0) break
          let backslashes = 0
          for (let k = end - 1; k > i && text.charCodeAt(k) === 0x5c; k--) backslashes++
          if (backslashes % 2 === 0) break
          escaped = true
          end++
        }
        if (end < 0) {
          if (final) throw new RequestShapeError('the body ends inside a string')
          return this.keep(text, i)
        }
        const raw = text.slice(i + 1, end)
        let value: string
        if (escaped || raw.includes('\\')) {
          try {
            value = JSON.parse(text.slice(i, end + 1)) as string
          } catch {
            throw new RequestShapeError(`invalid string at character ${this.offset + i}`)
          }
        } else {
          // JSON forbids raw control characters in strings.
          if (hasRawControl(raw)) throw new RequestShapeError(`invalid string at character ${this.offset + i}`)
          value = raw
        }
        i = end + 1
        yield { kind: 'string', value }
        continue
      }
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        NUMBER.lastIndex = i
        const match = NUMBER.exec(text)
        if (!match && !final && i === length - 1) return this.keep(text, i)
        if (!match) throw new RequestShapeError(`invalid number at character ${this.offset + i}`)
        const end = i + match[0].length
        // "12" or "1.", "1e" at a chunk's end may go on in the next chunk.
        if (!final && /^[0-9.eE+-]*$/.test(text.slice(end))) return this.keep(text, i)
        i = end
        yield { kind: 'number', value: Number(match[0]) }
        continue
      }
      if (c === 0x74 || c === 0x66 || c === 0x6e) {
        const word = c === 0x66 ? 'false' : c === 0x74 ? 'true' : 'null'
        const found = text.slice(i, i + word.length)
        if (found.length < word.length && word.startsWith(found) && !final) return this.keep(text, i)
        if (found !== word) throw new RequestShapeError(`unexpected "${text[i]}" at character ${this.offset + i}`)
        i += word.length
        yield { kind: 'literal', value: LITERALS[word]! }
        continue
      }
      throw new RequestShapeError(`unexpected "${text[i]}" at character ${this.offset + i}`)
    }
    this.offset += length
  }

  /** An incomplete token at the end of a chunk, and where the next chunk starts in the whole body. */
  private pending = ''
  private offset = 0

  private keep(text: string, from: number): void {
    this.pending = text.slice(from)
    this.offset += from
    if (this.pending.length > MAX_PENDING) throw new RequestShapeError(`a value longer than ${MAX_PENDING} characters at character ${this.offset}`)
  }
}

type State = 'start' | 'firstKey' | 'key' | 'colon' | 'value' | 'afterValue' | 'firstLabel' | 'label' | 'afterLabel' | 'done'

/**
 * A push parser for `{"project": ..., "labels": [...]}`: feed it text, collect the labels found so far with
 * `take()`, and read `project` at the end. Unknown keys, a key twice, a label that is not a string, anything
 * after the object: a RequestShapeError.
 */
export class EligibilityJsonParser {
  private readonly tokenizer = new Tokenizer()
  private state: State = 'start'
  private key: 'project' | 'labels' | undefined
  private readonly seen = new Set<string>()
  private batch: unknown[] = []
  private labelCount = 0
  project: unknown = undefined

  write(chunk: string, final = false): void {
    for (const token of this.tokenizer.tokens(chunk, final)) this.accept(token)
  }

  end(): void {
    this.write('', true)
    if (this.state !== 'done') throw new RequestShapeError('the body ends before the JSON object does')
    if (!this.seen.has('labels')) throw new RequestShapeError('Required', ['labels'])
    if (!this.seen.has('project')) throw new RequestShapeError('Required', ['project'])
  }

  /** The labels read since the last call. */
  take(): unknown[] {
    const batch = this.batch
    this.batch = []
    return batch
  }

  private unexpected(token: Token, expected: string, path: (string | number)[] = []): never {
    throw new RequestShapeError(`expected ${expected}, found ${describe(token)}`, path)
  }

  private accept(token: Token): void {
    const punct = token.kind === 'punct' ? token.value : undefined
    switch (this.state) {
      case 'start':
        if (punct !== '{') this.unexpected(token, 'a JSON object')
        this.state = 'firstKey'
        return
      case 'firstKey':
      case 'key':
        if (punct === '}' && this.state === 'firstKey') {
          this.state = 'done'
          return
        }
        if (token.kind !== 'string') this.unexpected(token, 'a key')
        if (token.value !== 'project' && token.value !== 'labels') throw new RequestShapeError(`unknown field "${token.value.slice(0, 64)}"`, [token.value.slice(0, 64)])
        if (this.seen.has(token.value)) throw new RequestShapeError(`"${token.value}" is given twice`, [token.value])
        this.seen.add(token.value)
        this.key = token.value
        this.state = 'colon'
        return
      case 'colon':
        if (punct !== ':') this.unexpected(token, '":"')
        this.state = 'value'
        return
      case 'value':
        if (this.key === 'labels') {
          if (punct !== '[') this.unexpected(token, 'an array of labels', ['labels'])
          this.state = 'firstLabel'
          return
        }
        if (token.kind === 'string' || token.kind === 'number') this.project = token.value
        else this.unexpected(token, 'a project id or reference', ['project'])
        this.state = 'afterValue'
        return
      case 'afterValue':
        if (punct === ',') this.state = 'key'
        else if (punct === '}') this.state = 'done'
        else this.unexpected(token, '"," or "}"')
        return
      case 'firstLabel':
      case 'label':
        if (punct === ']' && this.state === 'firstLabel') {
          this.state = 'afterValue'
          return
        }
        if (token.kind !== 'string') this.unexpected(token, 'a label (a string)', ['labels', this.labelCount])
        this.batch.push(token.value)
        this.labelCount++
        this.state = 'afterLabel'
        return
      case 'afterLabel':
        if (punct === ',') this.state = 'label'
        else if (punct === ']') this.state = 'afterValue'
        else this.unexpected(token, '"," or "]"', ['labels'])
        return
      case 'done':
        this.unexpected(token, 'the end of the body')
    }
  }
}

/** A push parser for one label per line: raw text, or a JSON string per line (NDJSON). Blank lines are skipped. */
export class LineLabelParser {
  private rest = ''
  private batch: unknown[] = []
  private line = 0

  constructor(private readonly json: boolean) {}

  write(chunk: string): void {
    const text = this.rest + chunk
    const end = text.lastIndexOf('\n')
    if (end < 0) {
      this.rest = text
      if (this.rest.length > MAX_PENDING) throw new RequestShapeError(`a line longer than ${MAX_PENDING} characters`, [this.line])
      return
    }
    this.rest = text.slice(end + 1)
    for (const line of text.slice(0, end).split('\n')) this.accept(line)
  }

  end(): void {
    if (this.rest !== '') this.accept(this.rest)
    this.rest = ''
  }

  take(): unknown[] {
    const batch = this.batch
    this.batch = []
    return batch
  }

  private accept(rawLine: string): void {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    const index = this.line++
    if (line.trim() === '') return
    if (!this.json) {
      this.batch.push(line)
      return
    }
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      throw new RequestShapeError(`line ${index + 1} is not JSON`, [index])
    }
    this.batch.push(value)
  }
}

/**
 * The labels of a request body as batches (one per chunk read), for the eligibility service to copy as they come.
 * Stops with BodyTooLargeError past `maxBytes`.
 */
export async function* labelBatches(
  body: AsyncIterable<Buffer | string>,
  parser: { write(chunk: string): void; end(): void; take(): unknown[] },
  maxBytes: number,
): AsyncGenerator<unknown[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let bytes = 0
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    bytes += buffer.length
    if (bytes > maxBytes) throw new BodyTooLargeError(`body over ${maxBytes} bytes`)
    let text: string
    try {
      text = decoder.decode(buffer, { stream: true })
    } catch {
      throw new RequestShapeError('the body is not UTF-8')
    }
    parser.write(text)
    const batch = parser.take()
    if (batch.length > 0) yield batch
  }
  try {
    parser.write(decoder.decode())
  } catch (error) {
    if (error instanceof RequestShapeError) throw error
    throw new RequestShapeError('the body is not UTF-8')
  }
  parser.end()
  const batch = parser.take()
  if (batch.length > 0) yield batch
}
