import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';

// The suite drives the built frontend in Debian's Chromium against the real Go backend: the
// bridge (desk/gui/bridge) serves desk/app's bound structs and frontend/dist on loopback, over a
// fresh desk data directory. No browser is ever downloaded.
const port = Number(process.env.E2E_PORT ?? 35117);
const dataDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-'));
// A second desk with no devices at all (03-missing-devices): no reader by that name, no sensor.
const bareDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-bare-'));

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      // Playwright gives every launch a fresh temporary profile (it refuses --user-data-dir).
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    {
      command: `cd .. && go run ./desk/gui/bridge -addr 127.0.0.1:${port} -data ${dataDir} -static frontend/dist -fast-kdf -vcard-face ../shared/testdata/faces/lfw/Amelie_Mauresmo/Amelie_Mauresmo_0001.jpg -fpsim`,
      url: `http://127.0.0.1:${port}/api/methods`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `cd .. && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 1} -data ${bareDir} -static frontend/dist -fast-kdf -reader "No such reader" -sensor /dev/ttyUSB-enrolldesk-absent`,
      url: `http://127.0.0.1:${port + 1}/api/methods`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],

});
