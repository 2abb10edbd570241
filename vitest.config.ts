// Host test suite: unit (*.test.ts) and integration (*.integ.test.ts); VM scenarios run separately.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/vm/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Builds the shipped bundle once, so CLI integration tests run exactly what ships.
    globalSetup: ['test/support/global-build.ts'],
  },
});
