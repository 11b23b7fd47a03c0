// Signed-in citizen sessions for the load, written straight into the `sessions` table in the format
// connect-pg-simple and express-session use, so the real server takes them for citizens who signed in a moment ago.
//
// - sess: { cookie, passport: { user: CitizenSessionUser }, signedInAt, lastSeenAt, csrfToken } (setUpWebSession.ts,
//   setUpAuthentication.ts, setUpCsrf.ts: csrf-sync keeps its token in req.session.csrfToken).
// - signedInAt/lastSeenAt are now: setUpSessionTimeouts ends a citizen session idle for SESSION_IDLE_MINUTES_CITIZEN
//   (15 by default), so a scenario must use its sessions within that time (they are made right before each one).
// - The cookie is what express-session sets: `biobank.sid=` + encodeURIComponent('s:' + sid + '.' + signature), the
//   signature being HMAC-SHA256(sid, session secret) in base64 without '=' padding (the cookie-signature package).
import crypto from 'node:crypto'
import type pg from 'pg'
import { SESSION_COOKIE } from '../server/setUpWebSession.ts'
import type { CitizenSessionUser } from '../server/services/authService.ts'

/** Every bench session id starts with this, so the bench can remove exactly its own rows. */
export const BENCH_SID_PREFIX = 'bench_'

export interface BenchSession {
  sid: string
  donorId: number
  name: string
  /** The Cookie request header. */
  cookie: string
  /** The session's CSRF token, to send as `_csrf`. */
  csrfToken: string
}

/** express-session's signed cookie value (cookie-signature's `sign`, with the `s:` prefix). */
export function signedCookieValue(sid: string, secret: string): string {
  const signature = crypto.createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')
  return `s:${sid}.${signature}`
}

export function sessionCookie(sid: string, secret: string): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(signedCookieValue(sid, secret))}`
}

/** Inserts one signed-in citizen session per donor (in one statement) and returns their cookies. */
export async function createCitizenSessions(pool: pg.Pool, secret: string, donorIds: number[], ttlMinutes: number): Promise<BenchSession[]> {
  const now = Date.now()
  const sessions: BenchSession[] = donorIds.map((donorId, n) => {
    const sid = `${BENCH_SID_PREFIX}${crypto.randomBytes(18).toString('base64url')}`
    return { sid, donorId, name: `Bench Borger ${n + 1}`, cookie: sessionCookie(sid, secret), csrfToken: crypto.randomBytes(128).toString('hex') }
  })
  const sess = sessions.map((s) =>
    JSON.stringify({
      cookie: { originalMaxAge: null, expires: null, secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      passport: { user: { kind: 'citizen', donorId: s.donorId, name: s.name, loa: 'Substantial' } satisfies CitizenSessionUser },
      signedInAt: now,
      lastSeenAt: now,
      csrfToken: s.csrfToken,
    }),
  )
  await pool.query(
    `insert into sessions (sid, sess, expire)
     select sid, sess::json, to_timestamp($3::double precision) from unnest($1::text[], $2::text[]) as t(sid, sess)`,
    [sessions.map((s) => s.sid), sess, now / 1000 + ttlMinutes * 60],
  )
  return sessions
}

/** Removes every session the bench made (and nothing else). */
export async function deleteBenchSessions(pool: pg.Pool): Promise<number> {
  const { rowCount } = await pool.query('delete from sessions where starts_with(sid, $1)', [BENCH_SID_PREFIX])
  return rowCount ?? 0
}
