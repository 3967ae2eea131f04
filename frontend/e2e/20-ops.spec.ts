import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import * as e2e from './helpers';

// Desk operations on a desk of its own: its own bridge (the real desk/app over a fresh store) with
// the embedded registry (sync/registry, whose key the biometric blobs are sealed to, so the desk
// can be unlocked). This desk keeps the default settings (supervisor review, freeze limits). An
// officer's records reach the supervisor's review queue through the real review.Queue.Submit
// (desk/opstest/cmd/seedreview; this desk has no card reader, so its wizard cannot make them).
// Then the screen: freeze state and what lifts it, the home banner and the refused "new
// enrollment", finger policy, review with the PIN again (wrong PIN, reason required, reject,
// approve), counts per officer, export to a drive.
test.describe.configure({ mode: 'serial' });

const port = Number(process.env.E2E_PORT ?? 35117) + 10;
const base = `http://127.0.0.1:${port}`;
const repo = resolve(process.cwd(), '..');
const shared = resolve(repo, '..', 'shared', 'testdata', 'faces');
const SUP = { id: 'gs.hoa', name: 'Lê Thị Hoa', pin: '258014', passphrase: 'mật khẩu bàn vận hành' };
const OFF = { id: 'cb.nam', name: 'Phạm Văn Nam', pin: '369025' };

let bridge: ChildProcess | undefined;
let dataDir = '';
let page: Page;

const shot = (name: string): Promise<void> => e2e.shot(page, name);

const api = (method: string, ...args: unknown[]): Promise<e2e.ApiResult> => e2e.api(page, base, method, ...args);

const login = (id: string, pin: string): Promise<void> => e2e.login(page, id, pin);

test.beforeAll(async ({ browser }) => {
  test.setTimeout(360_000);
  dataDir = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-ops-'));
  execFileSync('go', ['build', '-o', join(dataDir, 'seedreview'), './desk/opstest/cmd/seedreview'], { cwd: repo, stdio: 'inherit' });
  bridge = spawn(
    'go',
    ['run', './desk/gui/bridge', '-addr', `127.0.0.1:${port}`, '-data', dataDir, '-static', 'frontend/dist', '-fast-kdf', '-registry',
      '-reader', 'No such reader', '-sensor', '/dev/ttyUSB-enrolldesk-absent'],
    { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'], detached: true },
  );
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/api/methods`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the ops bridge did not start');
    if (bridge.exitCode !== null) throw new Error(`the ops bridge exited with ${bridge.exitCode}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  page = await browser.newPage();
});

test.afterAll(async () => {
  await page?.close();
  // go run's child is the bridge: stop the whole process group we started.
  if (bridge?.pid) {
    try {
      process.kill(-bridge.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a supervisor reviews an officer\'s records: PIN again, reasons, counts per officer', async () => {
  await page.goto(base);
  expect((await api('Session/Provision', { passphrase: SUP.passphrase, supervisorId: SUP.id, supervisorName: SUP.name, supervisorPin: SUP.pin })).ok).toBeTruthy();
  await page.reload();
  await login(SUP.id, SUP.pin);
  expect((await api('Officers/Create', { id: OFF.id, name: OFF.name, role: 'officer', pin: OFF.pin })).ok).toBeTruthy();
  // Before the desk is unlocked the review list shows, decisions wait for the unlock.
  await page.locator('#unlock-passphrase').fill(SUP.passphrase);
  await page.keyboard.press('Enter');
  await expect(page.locator('#unlocked')).toBeVisible();

  const ids = execFileSync(join(dataDir, 'seedreview'), ['-data', dataDir, '-officer', OFF.id, '-n', '3',
    '-portrait', join(shared, 'east_asian', 'CN_t101', '101_2.jpg'), '-evidence', join(shared, 'east_asian', 'CN_t102', readdirSync(join(shared, 'east_asian', 'CN_t102'))[0] ?? '')],
  { cwd: repo, env: { ...process.env, ENROLLDESK_PASSPHRASE: SUP.passphrase, ENROLLDESK_PIN: OFF.pin } }).toString().trim().split('\n');
  expect(ids).toHaveLength(3);

  await page.locator('nav [data-view="ops"]').click();
  await expect(page.locator('h1')).toHaveText('Vận hành bàn làm việc');
  // Freeze: no CSCA trust store on this desk, so chips cannot be proven: stopped, with the cure.
  await expect(page.locator('#freeze-state')).toHaveText('Bàn tạm dừng tiếp nhận hồ sơ mới.');
  const missing = page.locator('#freeze-reasons tr[data-code="trust-store-missing"]');
  await expect(missing).toContainText('Bàn chưa có danh sách chứng thư gốc (CSCA) để xác thực chip.');
  await expect(missing).toContainText('Nạp danh sách CSCA do trung ương ký (đồng bộ hoặc qua USB).');
  await expect(page.locator('#ops-freeze')).toContainText('3 hồ sơ chờ duyệt');
  // Finger policy and exception reasons, every timeout with its value.
  await expect(page.locator('#finger-policy')).toContainText('ngón trỏ phải hoặc ngón trỏ trái');
  await expect(page.locator('#ops-fingers')).toContainText('Lý do ngoại lệ: Mất ngón, Đang băng bó, Vân tay mờ, không đọc được.');
  await expect(page.locator('#ops-timeouts tr')).toHaveCount(10);
  await expect(page.locator('#ops-timeouts tr[data-key="timeouts.card"]')).toContainText('Đọc chip');
  await expect(page.locator('#audit-state')).toHaveText('Nhật ký chưa được gửi lên trung ương (bàn chưa đăng ký hoặc chưa mở khóa).');

  // Three records wait; the first carries a bandaged left index finger with its evidence photo.
  await expect(page.locator('#review-pending tr[data-item]')).toHaveCount(3);
  const [first, second, third] = ids as [string, string, string];
  await page.locator(`#review-pending tr[data-item="${first}"] button.open`).click();
  await expect(page.locator('#review-exceptions li[data-position="7"]')).toContainText('ngón trỏ trái: Đang băng bó');
  await expect(page.locator('#review-exceptions img.evidence')).toHaveJSProperty('complete', true);
  await expect(page.locator('#review-record img.portrait')).toBeVisible();
  await shot('20-ops-review');

  // Wrong PIN: nothing decided.
  await page.locator(`#review-pending tr[data-item="${first}"] input.pick`).check();
  await page.locator('#review-pin').fill('000000');
  await page.locator('#review-approve').click();
  await expect(page.locator('#review-status')).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
  await expect(page.locator('#review-pending tr[data-item]')).toHaveCount(3);
  // A rejection needs a reason.
  await page.locator(`#review-pending tr[data-item="${first}"] input.pick`).uncheck();
  await page.locator(`#review-pending tr[data-item="${second}"] input.pick`).check();
  await page.locator('#review-pin').fill(SUP.pin);
  await page.locator('#review-reject').click();
  await expect(page.locator('#review-status')).toHaveText('Chọn lý do từ chối; với "Lý do khác" hãy ghi rõ.');
  await page.locator('#reject-reason').selectOption('poor-capture');
  await page.locator('#review-reject').click();
  await expect(page.locator('#review-status')).toHaveText('Đã từ chối hồ sơ.');
  await expect(page.locator('#review-pending tr[data-item]')).toHaveCount(2);
  // Approve the other two with the PIN again.
  await page.locator(`#review-pending tr[data-item="${first}"] input.pick`).check();
  await page.locator(`#review-pending tr[data-item="${third}"] input.pick`).check();
  await page.locator('#review-pin').fill(SUP.pin);
  await page.locator('#review-approve').click();
  await expect(page.locator('#review-status')).toHaveText('Đã duyệt 2 hồ sơ.');
  await expect(page.locator('#review-empty')).toHaveText('Không có hồ sơ nào chờ duyệt.');
  const counts = page.locator(`#review-counts tr[data-officer="${OFF.id}"] td`);
  await expect(counts).toHaveText([OFF.id, '3', '0', '2', '1', '1']);
  await expect(page.locator('#review-decided li[data-state="released"]')).toHaveCount(2);
  await expect(page.locator(`#review-decided li[data-item="${second}"]`)).toContainText('Từ chối: Ảnh hoặc vân tay kém chất lượng');
  await shot('21-ops-reviewed');
});

test('a frozen desk refuses a new enrollment: the home banner says why and what lifts it', async () => {
  // This desk keeps the default freeze limits and has no CSCA trust store (no chip could be proven).
  await page.locator('nav [data-view="home"]').click();
  await expect(page.locator('#freeze-banner-state')).toHaveText('Bàn tạm dừng tiếp nhận hồ sơ mới:');
  const reason = page.locator('#freeze-banner-reasons li[data-code="trust-store-missing"]');
  await expect(reason).toContainText('Bàn chưa có danh sách chứng thư gốc (CSCA) để xác thực chip.');
  await expect(reason).toContainText('Nạp danh sách CSCA do trung ương ký (đồng bộ hoặc qua USB).');
  await shot('22-ops-frozen-home');
  await page.locator('#start-enrollment').click();
  await expect(page.locator('#wizard-error')).toHaveText('Bàn đang tạm dừng tiếp nhận hồ sơ mới. Xem lý do và cách khắc phục ở trang chủ.');
  await expect(page.locator('#card-form')).toHaveCount(0);
  const r = await api('Enrollment/Start');
  expect(r.ok).toBeFalsy();
  expect(r.error?.code).toBe('frozen');
  await page.locator('nav [data-view="ops"]').click();
  await expect(page.locator('h1')).toHaveText('Vận hành bàn làm việc');
});

test('the released records are exported to a drive; a wrong receipt is refused', async () => {
  const drive = mkdtempSync(join(tmpdir(), 'enrolldesk-e2e-usb-'));
  try {
    await page.locator('#export-dir').fill(join(drive, 'absent'));
    await page.locator('#export-submit').click();
    await expect(page.locator('#export-status')).toHaveText('Không ghi được vào thư mục này. Kiểm tra USB đã cắm và đường dẫn đúng.');
    await page.locator('#export-dir').fill(drive);
    await page.locator('#export-submit').click();
    await expect(page.locator('#export-status')).toHaveText('Đã ghi 2 hồ sơ (số 1 đến 2) vào 1 tệp.');
    const files = readdirSync(drive).filter((f) => f.endsWith('.edbundle'));
    expect(files).toHaveLength(1);
    // The bundle itself is not a receipt.
    await page.locator('#receipt-path').fill(join(drive, files[0] ?? ''));
    await page.locator('#receipt-submit').click();
    await expect(page.locator('#export-status')).toHaveText('Tệp biên nhận không hợp lệ (không phải của trung ương, của bàn khác, hoặc không khớp).');
    expect(existsSync(join(drive, files[0] ?? ''))).toBeTruthy();
  } finally {
    rmSync(drive, { recursive: true, force: true });
  }
});

test('a supervisor changes a device timeout; a wrong value is refused', async () => {
  const card = page.locator('#ops-timeouts tr[data-key="timeouts.card"] input');
  await expect(card).toHaveValue('20s');
  await card.fill('soon');
  await page.locator('#timeouts-save').click();
  await expect(page.locator('#timeouts-status')).toHaveText('Thông tin chưa hợp lệ.');
  await card.fill('45s');
  await page.locator('#timeouts-save').click();
  await expect(page.locator('#timeouts-status')).toHaveText('Đã lưu. Thời gian chờ mới áp dụng từ lần khởi động bàn tiếp theo.');
  await expect(page.locator('#ops-timeouts tr[data-key="timeouts.card"] input')).toHaveValue('45s');
});

test('the screen speaks English too, and an officer sees no review', async () => {
  await page.locator('#language').selectOption('en');
  await expect(page.locator('h1')).toHaveText('Desk operations');
  await expect(page.locator('#freeze-state')).toHaveText('The desk has stopped taking new enrollments.');
  await expect(page.locator('#freeze-reasons tr[data-code="trust-store-missing"]')).toContainText('Load the CSCA list signed by HQ (sync or USB).');
  await page.locator('#language').selectOption('vi');
  await page.locator('#logout').click();
  await login(OFF.id, OFF.pin);
  await page.locator('nav [data-view="ops"]').click();
  await expect(page.locator('#ops-freeze')).toBeVisible();
  await expect(page.locator('#ops-review')).toHaveCount(0);
  await expect(page.locator('#ops-export')).toBeVisible();
  // An officer reads the timeouts but does not edit them.
  await expect(page.locator('#ops-timeouts tr[data-key="timeouts.card"]')).toContainText('45s');
  await expect(page.locator('#ops-timeouts input')).toHaveCount(0);
  await page.locator('#logout').click();
});
