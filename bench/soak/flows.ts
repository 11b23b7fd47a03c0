// The soak's autocannon load: three flows, each an autocannon instance with its own connections, each connection a
// small state machine (what it sends next depends on what it was answered last):
//
// - citizen views: a random signed-in citizen's "my samples" page, again and again;
// - opt-out: a citizen held by the connection opens the confirmation page (which issues a fresh form token), sends
//   the change (303 to the receipt: the receipt is counted), sometimes sends the same form again (a double click:
//   must give the same receipt and change nothing), opens the receipt; then the next free citizen;
// - search: a staff user searches by material type and collection period and follows "next page" a few times.
//
// Every answer is timed from the moment its request is built (just before it is written) to the complete response,
// and checked: a status or content other than expected is an error with its reason. A request that got no answer
// (timeout, socket error, connection closed) is found when its connection builds the next request.
import { performance } from 'node:perf_hooks'
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon'
import type { BenchSession } from '../sessions.ts'
import type { Kind, Recorder } from './recorder.ts'
import type { StaffSession } from './staffLogin.ts'

export interface FlowRequest {
  kind: Kind | 'idle'
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

type Headers = Record<string, string | string[]>

interface Flow<S> {
  name: string
  connections: number
  initial(): S
  next(state: S): FlowRequest
  /** Undefined when the answer is as expected; else why it is an error. */
  answer(state: S, request: FlowRequest, status: number, body: string, headers: Headers): string | undefined
  /** The last request got no answer. */
  lost(state: S, request: FlowRequest): void
}

export interface FlowHandle {
  name: string
  connections: number
  /** Stops the instance; resolves with autocannon's own summary. */
  stop(): Promise<AutocannonResult>
}

/** The shared switch: while draining, connections ask for /healthz (not recorded) instead of new work. */
export interface Drain {
  draining: boolean
}

const IDLE: FlowRequest = { kind: 'idle', method: 'GET', path: '/healthz', headers: {} }

function headerValue(headers: Headers, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value
  return undefined
}

const describeStatus = (status: number, headers: Headers) => {
  const location = headerValue(headers, 'location')
  return location ? `status ${status} → ${location.split('?')[0]}` : `status ${status}`
}

interface Pending {
  request: FlowRequest
  sentAt: number
}

/**
 * Starts one autocannon instance for `flow`. The request list is one step repeated: autocannon keeps a connection's
 * context until its list wraps around (then the connection starts afresh: a new search, the next free citizen), so
 * the list is long; not much longer, as autocannon deep-copies it for every connection.
 */
function startFlow<S>(baseUrl: string, flow: Flow<S>, recorder: Recorder, drain: Drain, timeoutSeconds: number): FlowHandle {
  interface Context {
    state?: S
    pending?: Pending
  }
  const step: AutocannonRequest = {
    method: 'GET',
    path: '/healthz',
    setupRequest: (req, raw) => {
      const context = raw as Context
      context.state ??= flow.initial()
      const pending = context.pending
      if (pending && pending.request.kind !== 'idle') {
        recorder.noAnswer(pending.request.kind)
        flow.lost(context.state, pending.request)
      }
      const next = drain.draining ? IDLE : flow.next(context.state)
      context.pending = { request: next, sentAt: performance.now() }
      req.method = next.method
      req.path = next.path
      req.headers = next.headers
      req.body = next.body ?? ''
      return req
    },
    onResponse: (status, body, raw, headers) => {
      const context = raw as Context
      const pending = context.pending
      context.pending = undefined
      if (!pending || pending.request.kind === 'idle') return
      const ms = performance.now() - pending.sentAt
      const error = flow.answer(context.state!, pending.request, status, body, headers)
      recorder.answer(pending.request.kind, ms, error)
    },
  }
  const instance = autocannon({
    url: baseUrl,
    connections: flow.connections,
    // Stopped by the soak; the duration is only a bound.
    duration: 24 * 3600,
    timeout: timeoutSeconds,
    requests: Array<AutocannonRequest>(2_000).fill(step),
  })
  const finished = Promise.resolve(instance)
  return {
    name: flow.name,
    connections: flow.connections,
    async stop() {
      instance.stop()
      return await finished
    },
  }
}

// --- citizen views ------------------------------------------------------------------------------------------------

function citizenViews(sessions: BenchSession[], connections: number): Flow<object> {
  return {
    name: 'citizen views',
    connections,
    initial: () => ({}),
    next: () => {
      const session = sessions[Math.floor(Math.random() * sessions.length)]!
      return { kind: 'citizen-samples', method: 'GET', path: '/borger/proever', headers: { cookie: session.cookie } }
    },
    answer: (_state, _request, status, body, headers) => {
      if (status !== 200) return describeStatus(status, headers)
      if (!body.includes('<h1')) return 'a page without a heading'
      return undefined
    },
    lost: () => undefined,
  }
}

// --- opt-out ------------------------------------------------------------------------------------------------------

const RECEIPT_PATH = '/borger/fravalg/kvittering/'
const UNCHANGED = '/borger/fravalg?besked=uaendret'

export interface OptOutCitizen extends BenchSession {
  /** The choices as the soak believes them to be: the value of the last receipt (or the database at the start). */
  material: boolean
  genetic: boolean
  /** Held by a connection until then (ms since the epoch; renewed by every request): a connection that starts afresh
   * (its request list wrapped around) leaves its citizen, who is free again when the hold runs out. */
  heldUntil: number
  /** Left out from then on: a change may or may not have been made (no answer), so its state is unknown. */
  retired: boolean
  /** A retired citizen's reason, for the report. */
  retiredBecause?: string
}

export interface SeenReceipt {
  reference: string
  donorId: number
  choice: 'material' | 'genetic'
  optedOut: boolean
}

export interface OptOutTally {
  receipts: SeenReceipt[]
  /** Repeated forms answered with the first receipt (as they must be). */
  repeatsSameReceipt: number
  /** Change requests (first sends) that got no answer: each may or may not have been stored. */
  changesWithoutAnswer: number
  /** Change and repeat requests sent and not yet answered (the drain waits for 0). */
  inFlight: number
}

interface OptOutState {
  citizen?: OptOutCitizen
  step: 'confirm' | 'change' | 'repeat' | 'receipt'
  choice: 'material' | 'genetic'
  optOut: boolean
  formToken?: string
  reference?: string
}

function optOutFlow(citizens: OptOutCitizen[], connections: number, tally: OptOutTally, repeatShare: number, holdMs: number): Flow<OptOutState> {
  let cursor = 0
  const take = (): OptOutCitizen | undefined => {
    const now = Date.now()
    for (let i = 0; i < citizens.length; i++) {
      const c = citizens[(cursor + i) % citizens.length]!
      if (c.heldUntil < now && !c.retired) {
        cursor = (cursor + i + 1) % citizens.length
        return c
      }
    }
    return undefined
  }
  const release = (state: OptOutState) => {
    if (state.citizen) state.citizen.heldUntil = 0
    state.citizen = undefined
    state.step = 'confirm'
    state.formToken = undefined
    state.reference = undefined
  }
  const retire = (state: OptOutState, because: string) => {
    if (state.citizen) {
      state.citizen.retired = true
      state.citizen.retiredBecause = because
    }
    release(state)
  }
  const changeBody = (state: OptOutState) =>
    new URLSearchParams({ _csrf: state.citizen!.csrfToken, choice: state.choice, optOut: state.optOut ? 'yes' : 'no', formToken: state.formToken! }).toString()

  return {
    name: 'opt-out',
    connections,
    initial: () => ({ step: 'confirm', choice: 'genetic', optOut: true }),
    next: (state) => {
      if (!state.citizen) {
        state.citizen = take()
        state.step = 'confirm'
        // Every citizen held or retired: wait politely (not recorded).
        if (!state.citizen) return IDLE
      }
      state.citizen.heldUntil = Date.now() + holdMs
      const cookie = state.citizen.cookie
      switch (state.step) {
        case 'confirm': {
          state.choice = Math.random() < 0.5 ? 'material' : 'genetic'
          state.optOut = !state.citizen[state.choice]
          const query = new URLSearchParams({ choice: state.choice, optOut: state.optOut ? 'yes' : 'no' })
          return { kind: 'opt-out-confirm', method: 'GET', path: `/borger/fravalg/bekraeft?${query}`, headers: { cookie } }
        }
        case 'change':
        case 'repeat':
          tally.inFlight += 1
          return {
            kind: state.step === 'change' ? 'opt-out-change' : 'opt-out-repeat',
            method: 'POST',
            path: '/borger/fravalg',
            headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
            body: changeBody(state),
          }
        case 'receipt':
          return { kind: 'opt-out-receipt', method: 'GET', path: `${RECEIPT_PATH}${state.reference}`, headers: { cookie } }
      }
    },
    answer: (state, request, status, body, headers) => {
      const citizen = state.citizen!
      const location = headerValue(headers, 'location') ?? ''
      switch (request.kind) {
        case 'opt-out-confirm': {
          const token = /name="formToken" value="([^"]+)"/.exec(body)?.[1]
          if (status === 200 && token) {
            state.formToken = token
            state.step = 'change'
            return undefined
          }
          if (status === 303 && location === UNCHANGED) {
            // The database holds a value the soak did not expect: a change it saw a receipt for is not there.
            retire(state, 'the confirmation page said the choice already had the value the last receipt had changed it from')
            return 'the choice already had this value (the last receipt is not what the database holds)'
          }
          release(state)
          return status === 200 ? 'no form token on the confirmation page' : describeStatus(status, headers)
        }
        case 'opt-out-change':
        case 'opt-out-repeat': {
          tally.inFlight -= 1
          const reference = status === 303 && location.startsWith(RECEIPT_PATH) ? location.slice(RECEIPT_PATH.length) : undefined
          if (request.kind === 'opt-out-change') {
            if (!reference) {
              retire(state, `the change was answered ${describeStatus(status, headers)}`)
              return location === UNCHANGED ? 'the change was refused as unchanged' : describeStatus(status, headers)
            }
            tally.receipts.push({ reference, donorId: citizen.donorId, choice: state.choice, optedOut: state.optOut })
            citizen[state.choice] = state.optOut
            state.reference = reference
            state.step = Math.random() < repeatShare ? 'repeat' : 'receipt'
            return undefined
          }
          if (reference === state.reference) {
            tally.repeatsSameReceipt += 1
            state.step = 'receipt'
            return undefined
          }
          retire(state, 'the repeated form was not answered with its first receipt')
          return reference ? 'the repeated form made a second change (another receipt)' : `the repeated form was answered ${describeStatus(status, headers)}`
        }
        case 'opt-out-receipt': {
          const shown = status === 200 && body.includes(state.reference!)
          release(state)
          return shown ? undefined : status === 200 ? 'the receipt page does not show its reference' : describeStatus(status, headers)
        }
        default:
          return undefined
      }
    },
    lost: (state, request) => {
      if (request.kind === 'opt-out-change' || request.kind === 'opt-out-repeat') {
        tally.inFlight -= 1
        if (request.kind === 'opt-out-change') tally.changesWithoutAnswer += 1
        retire(state, 'a change request got no answer')
      } else {
        release(state)
      }
    },
  }
}

// --- staff search -------------------------------------------------------------------------------------------------

/** Material types the bulk seeder makes often enough that most searches have several pages. */
const SEARCH_MATERIALS = ['whole-blood', 'plasma', 'serum', 'buffy-coat', 'dna', 'urine', 'tissue-ffpe', 'tissue-frozen', 'saliva'] as const
const BIOBANKS = ['RH', 'RSJ', 'RSD', 'RM', 'RN'] as const

interface SearchState {
  user: number
  nextPath?: string
  pagesLeft: number
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!

function searchFlow(staff: { session: StaffSession; auditor: boolean }[], connections: number, maxExtraPages: number): Flow<SearchState> {
  let nextUser = 0
  return {
    name: 'search',
    connections,
    initial: () => ({ user: nextUser++ % staff.length, pagesLeft: 0 }),
    next: (state) => {
      const user = staff[state.user]!
      const headers = { cookie: user.session.cookie }
      if (state.nextPath && state.pagesLeft > 0) {
        state.pagesLeft -= 1
        return { kind: 'search-next', method: 'GET', path: state.nextPath, headers }
      }
      const fromYear = 2005 + Math.floor(Math.random() * 18)
      const toYear = Math.min(2025, fromYear + 1 + Math.floor(Math.random() * 6))
      const params = new URLSearchParams({
        materialType: pick(SEARCH_MATERIALS),
        collectedFrom: `${fromYear}-${String(1 + Math.floor(Math.random() * 12)).padStart(2, '0')}-01`,
        collectedTo: `${toYear}-12-31`,
      })
      // The auditor reads every biobank: sometimes all of them, sometimes one.
      if (user.auditor && Math.random() < 0.5) params.set('biobank', pick(BIOBANKS))
      state.pagesLeft = Math.floor(Math.random() * (maxExtraPages + 1))
      state.nextPath = undefined
      return { kind: 'search-first', method: 'GET', path: `/medarbejder/soeg?${params}`, headers }
    },
    answer: (state, _request, status, body, headers) => {
      state.nextPath = undefined
      if (status !== 200) return describeStatus(status, headers)
      // The results section is there whether or not anything matched (a search without results is no error).
      if (!body.includes('id="search-results-heading"')) return 'no results section on the search page'
      const next = /<a href="([^"]+)" rel="next">/.exec(body)?.[1]
      if (next) state.nextPath = next.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=')
      return undefined
    },
    lost: (state) => {
      state.nextPath = undefined
    },
  }
}

// --- all of them --------------------------------------------------------------------------------------------------

export interface FlowSettings {
  baseUrl: string
  recorder: Recorder
  drain: Drain
  timeoutSeconds: number
  viewers: { sessions: BenchSession[]; connections: number }
  optOut: { citizens: OptOutCitizen[]; connections: number; tally: OptOutTally; repeatShare: number }
  search: { staff: { session: StaffSession; auditor: boolean }[]; connections: number; maxExtraPages: number }
}

export function startFlows(settings: FlowSettings): { views: FlowHandle; optOut: FlowHandle; search: FlowHandle } {
  const { baseUrl, recorder, drain, timeoutSeconds } = settings
  return {
    views: startFlow(baseUrl, citizenViews(settings.viewers.sessions, settings.viewers.connections), recorder, drain, timeoutSeconds),
    optOut: startFlow(
      baseUrl,
      // A citizen is held for longer than a request may take (a request without an answer is then known as such).
      optOutFlow(settings.optOut.citizens, settings.optOut.connections, settings.optOut.tally, settings.optOut.repeatShare, (timeoutSeconds + 30) * 1000),
      recorder,
      drain,
      timeoutSeconds,
    ),
    search: startFlow(baseUrl, searchFlow(settings.search.staff, settings.search.connections, settings.search.maxExtraPages), recorder, drain, timeoutSeconds),
  }
}
