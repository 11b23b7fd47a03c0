// Deliberate breakages of the app, one per check of the security and fault suites (issue 8: "each check has been
// seen to fail once against a deliberately broken build"). test/mutations/run.ts applies each one to a fresh
// worktree of the project and runs the tests named here, which must then FAIL, with a failing test whose title
// matches `expect`. Every `find` must occur exactly once in its file, or the run stops: the list must not rot.
//
// A mutation is a small, realistic mistake (a line dropped, an option flipped, a value spliced into SQL), never a
// syntax error: the failure must be the check's.

export interface Edit {
  /** Path from the project root. */
  file: string
  /** Exact text that must occur exactly once in the file. */
  find: string
  replace: string
}

export interface Mutation {
  /** Short, unique, kebab-case. */
  id: string
  /** What is broken, in a sentence. */
  description: string
  /** The check that must trip on it (the suite and what it promises). */
  check: string
  edits: Edit[]
  /** Test files (from the project root) run with the mutation; at least one of their tests must fail. */
  tests: string[]
  /** mocha --grep: only the tests whose full title contains this (all tests of the files when absent). */
  grep?: string
  /** A failing test's full title must match this, so that the failure is the intended check's. */
  expect: RegExp
}

const SECURITY = 'test/integration/security'
const FAULTS = 'test/integration/faults'

export const MUTATIONS: readonly Mutation[] = [
  // ---------------------------------------------------------------------------------------------------------------
  // CSRF
  {
    id: 'csrf-skipped-for-opt-out',
    description: 'The CSRF check skips POST /borger/fravalg (the citizen opt-out form), for any content type.',
    check: 'security/csrf: every state-changing route refuses a request without a valid CSRF token',
    edits: [
      {
        file: 'server/setUpCsrf.ts',
        find: "skipCsrfProtection: (req: Request) => req.method === 'POST' &&",
        replace: "skipCsrfProtection: (req: Request) => req.path === '/borger/fravalg' || req.method === 'POST' &&",
      },
    ],
    tests: [`${SECURITY}/csrf.test.ts`],
    expect: /CSRF on every state-changing route/,
  },
  {
    id: 'csrf-unchecked-on-import-upload',
    description: 'POST /medarbejder/import (multipart, skipped by the global check) no longer checks the _csrf field itself.',
    check: 'security/csrf: every state-changing route refuses a request without a valid CSRF token (upload routes too)',
    edits: [
      {
        file: 'routes/staff/import.ts',
        find: "      if (!multipartCsrfValid(req)) throw new HttpError(403, 'invalid csrf token')\n",
        replace: '',
      },
    ],
    tests: [`${SECURITY}/csrf.test.ts`],
    grep: 'refuses each one without a valid CSRF token',
    expect: /refuses each one without a valid CSRF token/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Access control
  {
    id: 'staff-reads-any-biobank',
    description: "sampleService.readable() no longer checks the biobank: any staff user reads any biobank's sample.",
    check: 'security/accessControl: a staff user of another biobank gets 404 for its ids',
    edits: [
      {
        file: 'server/services/sampleService.ts',
        find: "if (!row || !staffMay(user, 'read', row.biobankId)) throw new SampleNotFoundError()",
        replace: 'if (!row) throw new SampleNotFoundError()',
      },
    ],
    tests: [`${SECURITY}/accessControl.test.ts`],
    grep: 'staff user of another biobank',
    expect: /staff user of another biobank/,
  },
  {
    id: 'staff-registers-into-any-biobank',
    description: 'sampleService.registerSample() no longer checks that the biobank named in the form is the user’s own.',
    check: 'security/accessControl: registering a sample into another biobank is refused (403)',
    edits: [
      {
        file: 'server/services/sampleService.ts',
        find: "      if (!biobank) throw new ForbiddenError('unknown biobank')\n      assertStaffMay(user, 'register', biobank.id)\n\n      const now = context.now ?? new Date()\n",
        replace: "      if (!biobank) throw new ForbiddenError('unknown biobank')\n\n      const now = context.now ?? new Date()\n",
      },
    ],
    tests: [`${SECURITY}/accessControl.test.ts`],
    grep: 'refuse to register a sample into another biobank',
    expect: /refuse to register a sample into another biobank/,
  },
  {
    // The auditor is kept read-only by two independent layers: the role's permission list, and (for samples) the
    // rule that only a user with a biobank may change anything. Either alone still refuses, so both are broken.
    id: 'auditor-may-change-samples',
    description:
      "staffMay() lets the auditor past the role's permission list (\"the auditor sees everything\" applied to every action), and the sample services no longer require a biobank of their own to change samples.",
    check: 'security/accessControl: the auditor is refused every state-changing staff route',
    edits: [
      {
        file: 'server/services/authorization.ts',
        find: 'if (!permissions[user.role].includes(action)) return false',
        replace: "if (user.role !== 'auditor' && !permissions[user.role].includes(action)) return false",
      },
      {
        file: 'server/services/sampleService.ts',
        find: "if (user?.kind !== 'staff' || user.biobankId === null || !staffMay(user, 'register', user.biobankId)) {",
        replace: "if (user?.kind !== 'staff' || !staffMay(user, 'register', user.biobankId ?? 0)) {",
      },
    ],
    tests: [`${SECURITY}/accessControl.test.ts`],
    grep: 'refuse the auditor',
    expect: /refuse the auditor/,
  },
  {
    id: 'citizen-sample-not-scoped',
    description: "citizenService.sample() finds a sample by its public id alone, not scoped to the citizen's donor id.",
    check: "security/accessControl: a citizen route answers another citizen's id with 404",
    edits: [
      {
        file: 'server/services/citizenService.ts',
        find: 'where s.public_id = :publicId and s.donor_id = :donorId',
        replace: 'where s.public_id = :publicId',
      },
    ],
    tests: [`${SECURITY}/accessControl.test.ts`],
    grep: "another citizen's id",
    expect: /another citizen's id/,
  },
  {
    id: 'citizen-receipt-not-scoped',
    description: "optOutService.receipt() finds a receipt by its reference alone, not scoped to the citizen's donor id.",
    check: "security/accessControl: a citizen route answers another citizen's id with 404",
    edits: [
      {
        file: 'server/services/optOutService.ts',
        find: 'where receipt_reference = :reference and donor_id = :donorId',
        replace: 'where receipt_reference = :reference',
      },
    ],
    tests: [`${SECURITY}/accessControl.test.ts`],
    grep: "another citizen's id",
    expect: /another citizen's id/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Output encoding and injection
  {
    id: 'xss-event-note-unescaped',
    description: "The staff sample page prints an event's details (the free-text note among them) with <%- %> instead of <%= %>.",
    check: 'security/xss: payloads typed into staff text fields come back escaped on every page',
    edits: [
      {
        file: 'views/pages/staff/samples/show.ejs',
        find: '<li><%= item.label %>: <%= item.value %></li>',
        replace: '<li><%= item.label %>: <%- item.value %></li>',
      },
    ],
    tests: [`${SECURITY}/xss.test.ts`],
    expect: /script payloads in every form field/,
  },
  {
    id: 'xss-form-value-unescaped',
    description: 'The shared form field partial puts a typed-in value back into value="..." with <%- %> (an attribute breaker).',
    check: 'security/xss: payloads typed into staff text fields come back escaped on every page',
    edits: [{ file: 'views/pages/staff/samples/_field.ejs', find: 'value="<%= value %>"', replace: 'value="<%- value %>"' }],
    tests: [`${SECURITY}/xss.test.ts`],
    expect: /script payloads in every form field/,
  },
  {
    id: 'csv-formula-not-neutralised',
    description: 'csvCell() no longer prefixes cells starting with = + - @ tab or CR with an apostrophe (CSV/formula injection).',
    check: 'staffExport: CSV cells a spreadsheet would read as a formula are neutralised (the security suite only checks that a payload stays in its cell)',
    edits: [{ file: 'server/services/exportService.ts', find: "  if (FORMULA_START.test(text)) text = `'${text}`\n", replace: '' }],
    tests: ['test/integration/staffExport.test.ts'],
    grep: 'neutralise',
    expect: /neutralise/,
  },
  {
    id: 'export-like-wildcards-unescaped',
    description: "The export's label prefix goes into LIKE without escaping % _ and \\ (the sanitisation removed).",
    check: 'security/injection: LIKE metacharacters in the export label prefix are characters, not wildcards',
    edits: [
      {
        file: 'server/services/exportService.ts',
        find: '${criteria.label.replace(/[\\\\%_]/g, (c) => `\\\\${c}`)}%',
        replace: '${criteria.label}%',
      },
    ],
    tests: [`${SECURITY}/injection.test.ts`],
    grep: 'exports by label prefix',
    expect: /exports by label prefix/,
  },
  {
    id: 'audit-search-sql-concatenated',
    description: "The audit trail's action filter is built by string concatenation (and LIKE) instead of replacements.",
    check: 'security/injection + fixedDefects: an audit search value finds only what it names',
    edits: [
      {
        file: 'server/services/auditService.ts',
        find: 'where.push(`(a.action = :action or starts_with(a.action, :actionPrefix))`)',
        replace: "where.push(`(a.action = '${criteria.action}' or a.action like '${criteria.action}.%')`)",
      },
    ],
    tests: [`${SECURITY}/fixedDefects.test.ts`, `${SECURITY}/injection.test.ts`],
    grep: 'revision',
    expect: /revision/,
  },
  {
    id: 'search-label-sql-concatenated',
    description: "The sample search splices the label into the SQL text, and the label's pattern check is relaxed to any text.",
    check: 'security/injection: SQL metacharacters in every search field are harmless',
    edits: [
      {
        file: 'server/services/searchService.ts',
        find: "    conditions.push('s.label = :sc_label')\n",
        replace: "    conditions.push(`s.label = '${criteria.label}'`)\n",
      },
      {
        file: 'server/domain/sampleCriteria.ts',
        find: 'label: optional(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/)),',
        replace: 'label: optional(z.string().max(10_000)),',
      },
    ],
    tests: [`${SECURITY}/injection.test.ts`],
    grep: 'GET /medarbejder/soeg as',
    expect: /GET \/medarbejder\/soeg as/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Headers and cookies
  {
    id: 'csp-unsafe-inline-scripts',
    description: "The CSP's script-src allows 'unsafe-inline'.",
    check: "security/headers: CSP without 'unsafe-inline' for scripts on every page",
    edits: [{ file: 'server/setUpWebSecurity.ts', find: `scriptSrc: ["'self'"],`, replace: `scriptSrc: ["'self'", "'unsafe-inline'"],` }],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'sends the security headers on every GET route',
    expect: /sends the security headers on every GET route/,
  },
  {
    id: 'csp-frame-ancestors-removed',
    description: "The CSP no longer says frame-ancestors 'none' (pages may be framed: clickjacking).",
    check: "security/headers: frame-ancestors 'none' on every page",
    edits: [{ file: 'server/setUpWebSecurity.ts', find: `        frameAncestors: ["'none'"],\n`, replace: '' }],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'sends the security headers on every GET route',
    expect: /sends the security headers on every GET route/,
  },
  {
    id: 'nosniff-off',
    description: 'helmet is told not to send X-Content-Type-Options: nosniff.',
    check: 'security/headers: X-Content-Type-Options on every page',
    edits: [{ file: 'server/setUpWebSecurity.ts', find: '    crossOriginEmbedderPolicy: false,\n', replace: '    crossOriginEmbedderPolicy: false,\n    xContentTypeOptions: false,\n' }],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'sends the security headers on every GET route',
    expect: /sends the security headers on every GET route/,
  },
  {
    id: 'referrer-policy-off',
    description: 'helmet is told not to send a Referrer-Policy.',
    check: 'security/headers: Referrer-Policy on every page',
    edits: [{ file: 'server/setUpWebSecurity.ts', find: "referrerPolicy: { policy: 'no-referrer' },", replace: 'referrerPolicy: false,' }],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'sends the security headers on every GET route',
    expect: /sends the security headers on every GET route/,
  },
  {
    id: 'hsts-off-in-production',
    description: 'Strict-Transport-Security is never sent, production included.',
    check: 'security/headers: HSTS in production',
    edits: [
      {
        file: 'server/setUpWebSecurity.ts',
        find: 'strictTransportSecurity: config.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,',
        replace: 'strictTransportSecurity: false,',
      },
    ],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'in production',
    expect: /sends HSTS/,
  },
  {
    id: 'session-cookie-not-httponly',
    description: 'The session cookie is set without HttpOnly (readable by script).',
    check: 'security/headers: cookies HttpOnly',
    edits: [
      {
        file: 'server/setUpWebSession.ts',
        find: "cookie: { httpOnly: true, sameSite: 'lax', secure: config.production, path: '/' },",
        replace: "cookie: { httpOnly: false, sameSite: 'lax', secure: config.production, path: '/' },",
      },
    ],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'in the test environment',
    expect: /sets the session cookie HttpOnly and SameSite/,
  },
  {
    id: 'session-cookie-no-samesite',
    description: 'The session cookie is set without a SameSite attribute.',
    check: 'security/headers: cookies SameSite',
    edits: [
      {
        file: 'server/setUpWebSession.ts',
        find: "cookie: { httpOnly: true, sameSite: 'lax', secure: config.production, path: '/' },",
        replace: "cookie: { httpOnly: true, sameSite: false, secure: config.production, path: '/' },",
      },
    ],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'in the test environment',
    expect: /sets the session cookie HttpOnly and SameSite/,
  },
  {
    id: 'session-cookie-not-secure-in-production',
    description: 'The session cookie is set without Secure, production included.',
    check: 'security/headers: cookies Secure in production',
    edits: [
      {
        file: 'server/setUpWebSession.ts',
        find: "cookie: { httpOnly: true, sameSite: 'lax', secure: config.production, path: '/' },",
        replace: "cookie: { httpOnly: true, sameSite: 'lax', secure: false, path: '/' },",
      },
    ],
    tests: [`${SECURITY}/headers.test.ts`],
    grep: 'sets the session cookie Secure',
    expect: /sets the session cookie Secure/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // CPR in logs
  {
    id: 'cpr-log-redaction-removed',
    description: "The logger's streamWrite hook (redactCprs on every line) is removed, so a CPR number in a request path reaches the log.",
    check: 'zz-noCprInLogs: no demo CPR number appears in any log line of the test run',
    edits: [{ file: 'server/logger.ts', find: '      hooks: { streamWrite: (line: string) => redactCprs(line) },\n', replace: '' }],
    tests: ['test/integration/zz-noCprInLogs.test.ts'],
    expect: /finds no demo CPR number/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Rate and size limits
  {
    id: 'login-rate-limit-removed',
    description: 'The sign-in start routes (/auth/*/login) lose their rate limiter.',
    check: 'security/limits: the login routes are rate limited (429)',
    edits: [{ file: 'routes/auth.ts', find: 'router.get(`/auth/${paths[kind]}/login`, limiter,', replace: 'router.get(`/auth/${paths[kind]}/login`,' }],
    tests: [`${SECURITY}/limits.test.ts`],
    grep: 'sign-in',
    expect: /sign-in/,
  },
  {
    id: 'api-rate-limit-removed',
    description: 'POST /api/v1/eligibility loses both its rate limiters (per address and per API key).',
    check: 'security/limits: the API routes are rate limited (429)',
    edits: [
      {
        file: 'routes/api.ts',
        find: "router.post('/api/v1/eligibility', perAddress, authenticate, perClient,",
        replace: "router.post('/api/v1/eligibility', authenticate,",
      },
    ],
    tests: [`${SECURITY}/limits.test.ts`],
    grep: 'answers every API route with 429',
    expect: /answers every API route with 429/,
  },
  {
    id: 'api-body-limit-not-checked-up-front',
    description: 'POST /api/v1/eligibility no longer refuses a body whose Content-Length is over the limit before reading it.',
    check: 'security/limits: an oversized API body is refused with 413 before it is read',
    edits: [
      {
        file: 'routes/api.ts',
        find: "      if (Number(req.get('content-length') ?? 0) > API_MAX_BODY_BYTES) throw new ApiError(413, `the body is larger than ${API_MAX_BODY_BYTES} bytes`)\n",
        replace: '',
      },
    ],
    tests: [`${SECURITY}/limits.test.ts`],
    grep: 'refuses an API body announced larger',
    expect: /refuses an API body announced larger/,
  },
  {
    id: 'body-limit-raised',
    description: 'The urlencoded body limit is raised from 100 kB to 10 MB.',
    check: 'security/limits: oversized bodies are refused with 413',
    edits: [{ file: 'server/setUpWebRequestParsing.ts', find: "limit: '100kb'", replace: "limit: '10mb'" }],
    tests: [`${SECURITY}/limits.test.ts`],
    grep: 'request and upload sizes',
    expect: /refuses an urlencoded body over 100 kB/,
  },
  {
    id: 'upload-limit-raised',
    description: 'The CSV import upload accepts four times its documented size.',
    check: 'security/limits: oversized uploads are refused with 413',
    edits: [{ file: 'routes/staff/import.ts', find: 'fileSize: imports.limits.maxUploadBytes,', replace: 'fileSize: imports.limits.maxUploadBytes * 4,' }],
    tests: [`${SECURITY}/limits.test.ts`],
    grep: 'request and upload sizes',
    expect: /refuses an urlencoded body over 100 kB/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Fault tests
  {
    id: 'opt-out-commit-not-durable',
    description: "The opt-out transaction runs with synchronous_commit off: COMMIT returns (and the receipt is shown) before the change is on disk.",
    check: 'faults/killAfterReceipt: an opt-out whose receipt was shown survives a crash',
    edits: [
      {
        file: 'server/services/optOutService.ts',
        find: "      await sequelize.query('insert into opt_outs (donor_id) values (:donorId) on conflict (donor_id) do nothing', { replacements: { donorId }, transaction })\n",
        replace:
          "      await sequelize.query('set local synchronous_commit = off', { transaction })\n      await sequelize.query('insert into opt_outs (donor_id) values (:donorId) on conflict (donor_id) do nothing', { replacements: { donorId }, transaction })\n",
      },
    ],
    tests: [`${FAULTS}/killAfterReceipt.test.ts`],
    expect: /killed right after a receipt is shown|crashes right after a receipt is shown/,
  },
  {
    id: 'import-commits-donors-first',
    description: 'The import commits its new donors before it writes the samples (two batches instead of one transaction).',
    check: 'faults/importInterrupted: after the database stops mid-import not one row of the file exists',
    edits: [
      { file: 'server/services/import/stage.ts', find: ') on commit drop`', replace: ') on commit preserve rows`' },
      {
        file: 'server/services/import/run.ts',
        find: '  const setBased = await mayCheckKeysSetBased(client)\n',
        replace: "  // Donors first, in their own batch.\n  await client.query('commit; begin')\n  const setBased = await mayCheckKeysSetBased(client)\n",
      },
    ],
    tests: [`${FAULTS}/importInterrupted.test.ts`],
    expect: /20,000-row import/,
  },
  {
    id: 'outage-not-mapped-to-503',
    description: 'The error handler no longer maps "database unreachable" errors to 503 (they become 500 pages).',
    check: 'faults/databaseOutage: pages answer 503 with a Danish explanation while the database is down',
    edits: [{ file: 'server/errorHandler.ts', find: 'const unavailable = isDatabaseUnavailable(error)', replace: 'const unavailable = false' }],
    tests: [`${FAULTS}/databaseOutage.test.ts`],
    expect: /database is unreachable/,
  },
  {
    id: 'database-waits-unbounded',
    description:
      'Sequelize is given plain pg instead of the bounded client (server/db/boundedClient.ts): a statement on a connection whose network went silent waits forever (and so does the session pool, which takes the same client).',
    check: 'faults/databasePartition: with the network to the database cut, pages answer 503 in Danish instead of hanging',
    edits: [{ file: 'server/db/database.ts', find: '    dialectModule: Object.assign(Object.create(pg) as typeof pg, { Client }),\n', replace: '' }],
    tests: [`${FAULTS}/databasePartition.test.ts`],
    expect: /network to the database is cut/,
  },
  {
    id: 'sigterm-exits-at-once',
    description: 'SIGTERM makes the server exit at once instead of draining in-flight requests.',
    check: 'faults/sigtermDrain: SIGTERM drains in-flight requests',
    edits: [{ file: 'server/index.ts', find: "process.on('SIGTERM', () => stop('SIGTERM'))", replace: "process.on('SIGTERM', () => process.exit(0))" }],
    tests: [`${FAULTS}/sigtermDrain.test.ts`],
    expect: /SIGTERM while a download is in flight/,
  },
  {
    id: 'sigterm-pool-not-closed',
    description: 'After draining, the server exits without closing its database pool.',
    check: 'faults/sigtermDrain: SIGTERM closes the pool cleanly',
    edits: [
      {
        file: 'server/index.ts',
        find: 'server.close(() => void runtime.shutdown().then(() => process.exit(0)))',
        replace: 'server.close(() => process.exit(0))',
      },
    ],
    tests: [`${FAULTS}/sigtermDrain.test.ts`],
    expect: /SIGTERM while a download is in flight/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Audit chain
  {
    id: 'audit-trigger-left-disabled',
    description: 'The audit-chain migration disables the append-only trigger for its backfill and never enables it again.',
    check: 'auditChain: UPDATE and DELETE of audit events are refused, to the owner too (trigger)',
    edits: [{ file: 'migrations/2026-11-26T0008-audit-chain.ts', find: '    alter table audit_events enable trigger audit_events_append_only;\n', replace: '' }],
    tests: ['test/integration/auditChain.test.ts'],
    grep: 'refuses UPDATE and DELETE',
    expect: /refuses UPDATE and DELETE/,
  },
  {
    id: 'audit-trigger-allows-delete',
    description: 'The append-only trigger on audit_events fires on UPDATE only: the owner can delete events.',
    check: 'auditChain: UPDATE and DELETE of audit events are refused, to the owner too (trigger)',
    edits: [
      {
        file: 'migrations/2026-11-26T0001-initial-schema.ts',
        find: 'create trigger audit_events_append_only before update or delete on audit_events',
        replace: 'create trigger audit_events_append_only before update on audit_events',
      },
    ],
    tests: ['test/integration/auditChain.test.ts'],
    grep: 'refuses UPDATE and DELETE',
    expect: /refuses UPDATE and DELETE/,
  },
  {
    id: 'audit-app-role-may-rewrite',
    description: "The app role keeps UPDATE/DELETE on the event tables (the migration's revoke is gone).",
    check: "auditChain: UPDATE and DELETE are refused to the app's role (no privilege)",
    edits: [{ file: 'migrations/2026-11-26T0008-audit-chain.ts', find: '    revoke update, delete, truncate on audit_events, sample_events, opt_out_events from registry_app;\n', replace: '' }],
    tests: ['test/integration/auditChain.test.ts'],
    grep: 'refuses UPDATE and DELETE',
    expect: /refuses UPDATE and DELETE/,
  },
  {
    id: 'audit-verify-skips-content-hash',
    description: "verifyAuditChain no longer recomputes each event's hash from its content.",
    check: 'auditChain: verify names the first broken link (a changed event)',
    edits: [
      {
        file: 'server/services/auditVerifier.ts',
        find: 'where chain_seq <> position or prev_hash <> expected_prev or hash <> recomputed',
        replace: 'where chain_seq <> position or prev_hash <> expected_prev',
      },
    ],
    tests: ['test/integration/auditChain.test.ts'],
    grep: 'names the first broken link',
    expect: /names the first broken link/,
  },
  {
    id: 'audit-verify-skips-links',
    description: "verifyAuditChain no longer checks that each event's prev_hash is the hash of the event before it.",
    check: 'auditChain: verify names the first broken link (a recomputed hash)',
    edits: [
      {
        file: 'server/services/auditVerifier.ts',
        find: 'where chain_seq <> position or prev_hash <> expected_prev or hash <> recomputed',
        replace: 'where chain_seq <> position or hash <> recomputed',
      },
    ],
    tests: ['test/integration/auditChain.test.ts'],
    grep: 'names the first broken link',
    expect: /names the first broken link/,
  },

  // ---------------------------------------------------------------------------------------------------------------
  // Eligibility race
  {
    id: 'eligibility-reads-register-outside-snapshot',
    description:
      'An eligibility check records its snapshot and register version in a statement of its own, before the statement that reads the opt-outs and decides (two snapshots).',
    check: 'eligibilityRace: every check is decided by the opt-out state of its one recorded snapshot',
    edits: [
      {
        file: 'server/services/eligibilityService.ts',
        find: '      const project = await resolveProject(requester, projectRef(), transaction)\n',
        replace:
          "      // The register version and snapshot, recorded when the check starts.\n      const [early] = await select<{ snapshot: string; register_version: number }>('select pg_current_snapshot()::text as snapshot, coalesce((select max(id) from opt_out_events), 0) as register_version', {}, transaction)\n      const project = await resolveProject(requester, projectRef(), transaction)\n",
      },
      {
        file: 'server/services/eligibilityService.ts',
        find: 'select pg_current_snapshot()::text as snapshot, coalesce((select max(id) from opt_out_events), 0) as register_version\n         ), requested',
        replace: "select '${early!.snapshot}'::text as snapshot, ${Number(early!.register_version)}::bigint as register_version\n         ), requested",
      },
    ],
    tests: ['test/integration/eligibilityRace.test.ts'],
    expect: /eligibility checks racing opt-out changes/,
  },
  {
    id: 'citizen-log-skips-unindexed-checks',
    description: "The citizen's log reads only the index by sample id, not the chunks of checks the service has not indexed yet.",
    check: 'citizenPortal: a check shows in the log once, before and after it is indexed',
    edits: [
      {
        file: 'server/services/citizenService.ts',
        find: `         union all
         select k.check_id, k.chunk from eligibility_check_chunks k
          where k.check_id = any (array(select c.id from eligibility_checks c`,
        replace: `         union all
         select k.check_id, k.chunk from eligibility_check_chunks k
          where false and k.check_id = any (array(select c.id from eligibility_checks c`,
      },
    ],
    tests: ['test/integration/citizenPortal.test.ts'],
    grep: 'before the check is indexed',
    expect: /once each, both before the check is indexed for the log and after/,
  },
  {
    id: 'eligibility-leaves-work-table',
    description: "A long list's work table (eligibility_work.request_...) is no longer dropped when the check ends.",
    check: 'eligibility: a long list is decided through its own work table and leaves none behind',
    edits: [
      {
        file: 'server/services/eligibilityService.ts',
        find: '      if (workTable !== null) await sequelize.query(`drop table ${workTable}`, { transaction })\n',
        replace: '',
      },
    ],
    tests: ['test/integration/eligibility.test.ts'],
    grep: 'leaves no table behind',
    expect: /through a table of its own, as a short list is decided, and leaves no table behind/,
  },
  {
    id: 'eligibility-copies-held-duplicates',
    description: 'The labels a long list held back (their bit was set) are all copied, duplicates included.',
    check: 'eligibility: a long list is decided as a short one, each label once at its first position',
    edits: [
      {
        file: 'server/services/firstOccurrences.ts',
        find: '    return this.held.filter((position) => first.get(this.labels[position - 1]!) === position)\n',
        replace: '    return first.size > 0 ? this.held : []\n',
      },
    ],
    tests: ['test/integration/eligibility.test.ts'],
    grep: 'leaves no table behind',
    expect: /through a table of its own, as a short list is decided, and leaves no table behind/,
  },
  {
    id: 'eligibility-drops-held-first-occurrences',
    description: 'The labels a long list held back are never copied, first occurrences that only shared a bit included.',
    check: 'eligibility: a long list is decided as a short one, each label once at its first position',
    edits: [
      {
        file: 'server/services/firstOccurrences.ts',
        find: '    if (this.held.length === 0) return []\n',
        replace: '    if (this.held.length >= 0) return []\n',
      },
    ],
    tests: ['test/integration/eligibility.test.ts'],
    grep: 'leaves no table behind',
    expect: /through a table of its own, as a short list is decided, and leaves no table behind/,
  },
  {
    id: 'shutdown-cuts-check-indexing',
    description: "A graceful stop closes the pool without waiting for the indexing of the last check for the citizen's log.",
    check: 'eligibility: stopping right after a check leaves it indexed, with no warning',
    edits: [
      {
        file: 'server/bootstrap.ts',
        find: '      await services.eligibility.indexingDone()\n',
        replace: '',
      },
    ],
    tests: ['test/integration/eligibilityShutdown.test.ts'],
    expect: /indexes the check for the citizen's log before the pool closes/,
  },
]
