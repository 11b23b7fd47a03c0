// Mocha reporter for test/mutations/run.ts: the usual spec output on the console, and one JSON line per passed or
// failed test (hooks included) appended to the file given as --reporter-option output=<file>, written as it
// happens, so a run that dies half-way still tells what failed. CommonJS because mocha require()s reporters.
/* eslint-disable @typescript-eslint/no-require-imports */
const fs = require('node:fs')
const Mocha = require('mocha')

const { EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_RUN_END } = Mocha.Runner.constants

class MutationReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    const output = options && options.reporterOption && options.reporterOption.output
    if (!output) throw new Error('mutationReporter needs --reporter-option output=<file>')
    const write = (record) => fs.appendFileSync(output, `${JSON.stringify(record)}\n`)
    runner.on(EVENT_TEST_PASS, (test) => write({ event: 'pass', title: test.fullTitle() }))
    runner.on(EVENT_TEST_FAIL, (test, error) => {
      let message = String((error && error.message) || error)
      // The suites collect what went wrong in a list (or an object) and compare it with the ideal at once; chai
      // shortens both in its message, so name the first entry of the list, or the first line that differs. By now
      // mocha has turned `actual` and `expected` into its own multi-line text ("[\n  \"entry\"\n...").
      const actual = error && error.actual
      const expected = error && error.expected
      let detail
      if (typeof actual === 'string' && actual.startsWith('[\n') && expected === '[]') detail = `first: ${actual.split('\n')[1].trim().replace(/^"(.*)"$/, '$1')}`
      else if (typeof actual === 'string' && typeof expected === 'string' && actual.includes('\n')) {
        const wanted = new Set(expected.split('\n').map((line) => line.trim()))
        const differs = actual.split('\n').map((line) => line.trim()).find((line) => !wanted.has(line) && !/^[[\]{}],?$/.test(line))
        if (differs) detail = `differs: ${differs}`
      }
      if (detail) {
        const [head, ...rest] = message.split('\n')
        message = [`${head} (${detail})`, ...rest].join('\n')
      }
      write({ event: 'fail', title: test.fullTitle(), message: message.slice(0, 4000) })
    })
    runner.once(EVENT_RUN_END, () => write({ event: 'end', stats: this.stats }))
  }
}

module.exports = MutationReporter
