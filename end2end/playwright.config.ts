import { defineConfig } from '@playwright/test';

/**
 * Browser tests of the Berth console.
 *
 * global-setup.ts starts the real server (BERTH_BIN, default
 * ../target/debug/berth) on a free port with a fresh data directory, seeds three
 * repositories through the registry API and tears the server down afterwards.
 * Tests read the server's URL from process.env.BERTH_E2E_URL (set by the setup).
 *
 * The browser is the system Chromium; Playwright never downloads one here.
 */
export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 720 },
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'chromium',
      use: { browserName: 'chromium' },
    },
  ],
});
