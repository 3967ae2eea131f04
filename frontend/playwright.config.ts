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
// A third desk (11-face-mismatch) reads the main desk's virtual card (vpcd has one card slot)
// with its trust store; its camera films Hans Blix while the main desk's test hook has handed over
// a card with another person's photo.
const mismatchDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-mismatch-'));
const trustDir = join(dataDir, 'vcard-trust');
// A desk of its own for 21-exception (reads the main desk's card, its own sensor simulator,
// camera and registry): its galleries are empty, so its enrollment is unique.
const exceptionDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-exception-'));
// A fourth desk (14-card-qr) reads the same card with the same trust store; its simulated camera
// shows the front of that card (bridge -camera-card), whose QR code gives the access key.
const qrDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-qr-'));
// A desk of its own for 22-officer-onboarding (reads the main desk's card, its own sensor
// simulator, camera and registry), with the operator check on: its officers' own biometrics are
// enrolled in the window.
const onboardingDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-onboarding-'));
const operatorSettings = `'${JSON.stringify({ policy: { supervisor_approval: false, operator_check: true }, freeze: { max_trust_store_days: 0 } })}'`;

// The simulated camera: real LFW photos composed at desk scale, held for some frames each
// (desk/wire.ParseClip). The chip photo is Hans Blix (0009); the camera is Hans Blix looking
// straight (0003), turning to his left (0004, 0005) and to his right (0001), then straight alone
// (0006: 0003 has a bystander, which the quality gate refuses), so liveness and the 1:1 match
// pass for real. (Other LFW people with real head turns, e.g. Roger Federer 0005/0009, are too
// blurred at desk scale for the quality gate; the shared deepface photos are sharp but never
// turned by 15 degrees.)
const lfw = '../shared/testdata/faces/lfw';
const clip = (who: string, shots: [string, number][]): string =>
  shots.map(([n, frames]) => `${lfw}/${who}/${who}_${n}.jpg:${frames}`).join(',');
const chipFace = `${lfw}/Hans_Blix/Hans_Blix_0009.jpg`;
// The e2e desks' policy, as the registry would sign it for them (desk/opstest/deskpolicy.Configure applies it
// when the desk is provisioned): records are released at once (no supervisor review, no operator
// check: the test officers have no enrolled biometrics of their own) and the trust-store age rule
// is off (the virtual card's test CSCA store carries no CRL). The defaults stay strict; the
// desk-operations suite (20-ops) runs a desk with them.
const deskSettings = `'${JSON.stringify({ policy: { supervisor_approval: false, operator_check: false }, freeze: { max_trust_store_days: 0 } })}'`;
const camera = clip('Hans_Blix', [['0003', 4], ['0004', 3], ['0005', 2], ['0003', 2], ['0001', 4], ['0003', 2], ['0006', 3]]);

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
      // The main desk: virtual CCCD, camera clip of the chip photo's holder, sensor simulator, and
      // the real registry service on loopback with the test hooks that take it down and up.
      command: `cd .. && go run ./desk/gui/bridge -addr 127.0.0.1:${port} -data ${dataDir} -static frontend/dist -fast-kdf -vcard-face ${chipFace} -vcard-trust ${trustDir} -camera-clip "${camera}" -fpsim -registry -test-hooks -desk-settings ${deskSettings}`,
      url: `http://127.0.0.1:${port}/api/methods`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `cd .. && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 1} -data ${bareDir} -static frontend/dist -fast-kdf -reader "No such reader" -sensor /dev/ttyUSB-enrolldesk-absent -desk-settings ${deskSettings}`,
      url: `http://127.0.0.1:${port + 1}/api/methods`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // Waits for the main desk's trust store (the servers may start together), then reads the
      // same card through pcscd.
      command: `cd .. && for i in $(seq 600); do [ -d ${trustDir} ] && break; sleep 0.5; done && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 2} -data ${mismatchDir} -static frontend/dist -fast-kdf -csca ${trustDir} -reader "Virtual PCD" -camera-clip "${camera}" -desk-settings ${deskSettings}`,
      url: `http://127.0.0.1:${port + 2}/api/methods`,
      timeout: 420_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `cd .. && for i in $(seq 600); do [ -d ${trustDir} ] && break; sleep 0.5; done && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 3} -data ${qrDir} -static frontend/dist -fast-kdf -csca ${trustDir} -reader "Virtual PCD" -camera-card ${chipFace} -desk-settings ${deskSettings}`,
      url: `http://127.0.0.1:${port + 3}/api/methods`,
      timeout: 420_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // 21-exception: waits for the main desk's trust store, reads the same card through pcscd.
      command: `cd .. && for i in $(seq 600); do [ -d ${trustDir} ] && break; sleep 0.5; done && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 5} -data ${exceptionDir} -static frontend/dist -fast-kdf -csca ${trustDir} -reader "Virtual PCD" -camera-clip "${camera}" -fpsim -registry -desk-settings ${deskSettings}`,
      url: `http://127.0.0.1:${port + 5}/api/methods`,
      timeout: 420_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      // 22-officer-onboarding: waits for the main desk's trust store, reads the same card through pcscd.
      command: `cd .. && for i in $(seq 600); do [ -d ${trustDir} ] && break; sleep 0.5; done && go run ./desk/gui/bridge -addr 127.0.0.1:${port + 12} -data ${onboardingDir} -static frontend/dist -fast-kdf -csca ${trustDir} -reader "Virtual PCD" -camera-clip "${camera}" -fpsim -registry -desk-settings ${operatorSettings}`,
      url: `http://127.0.0.1:${port + 12}/api/methods`,
      timeout: 420_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
