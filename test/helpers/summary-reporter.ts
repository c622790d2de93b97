import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, `vitest: N passed, N failed, N skipped`, and in CI
 * (CI=true) fails the run if any test was skipped: CI must exercise everything.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedNames: string[] = [];
    /** Files whose set-up or tear-down failed (beforeAll, afterAll, import): their tests show as skipped. */
    let failedFiles = 0;
    for (const module of testModules) {
      const suites = [...module.children.allSuites()];
      if (module.errors().length > 0 || suites.some((suite) => suite.errors().length > 0)) failedFiles++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          skippedNames.push(test.fullName);
        }
      }
    }
    if (process.env.CI && skipped > 0) {
      console.error(`\nCI must not skip tests; skipped:\n  ${skippedNames.join('\n  ')}`);
      process.exitCode = 1;
    }
    const files =
      failedFiles > 0 ? `; ${failedFiles} file(s) failed outside a test (set-up or tear-down)` : '';
    console.log(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped${files}`);
  }
}
