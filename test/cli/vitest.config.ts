// Local copy of vitest.config.ts plus the build globalSetup, until the lead adds it to the main config.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

export default mergeConfig(base, defineConfig({ test: { globalSetup: ['test/support/global-build.ts'] } }));
