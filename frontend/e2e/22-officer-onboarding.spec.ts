import { expect, test, type Page } from '@playwright/test';
import * as e2e from './helpers';

// Officer onboarding (issue 9) on a desk of its own: its bridge reads the main desk's virtual
// CCCD with its trust store, films Hans Blix with the simulated camera, runs the sensor simulator
// and the embedded registry, with the operator check on. The supervisor creates an officer and
// goes straight to the onboarding: the officer's face through the citizens' capture path (live
// preview, liveness), then the fingers the desk's policy asks for; the list shows the profile.
// Then the officer enrolls a citizen whose face is the officer's own (the same camera): the
// record waits for the supervisor, whose review shows the operator check's flag.
test.describe.configure({ mode: 'serial' });

const port = Number(process.env.E2E_PORT ?? 35117) + 12;
const base = `http://127.0.0.1:${port}`;
test.use({ baseURL: base });
const SUP = { id: 'gs.thu', name: 'Hoàng Thị Thu', pin: '582731', passphrase: 'mật khẩu bàn cán bộ' };
const OFF = { id: 'cb.long', name: 'Ngô Văn Long', pin: '417093' };
const CARD = { can: '482915' };
const FACE_TIMEOUT = 150_000;

let page: Page;

const shot = (name: string): Promise<void> => e2e.shot(page, name);

const api = (method: string, ...args: unknown[]): Promise<e2e.ApiResult> => e2e.api(page, base, method, ...args);

const login = (id: string, pin: string): Promise<void> => e2e.login(page, id, pin);

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto(base);
  expect((await api('Session/Provision', { passphrase: SUP.passphrase, supervisorId: SUP.id, supervisorName: SUP.name, supervisorPin: SUP.pin })).ok).toBeTruthy();
  await page.reload();
  await login(SUP.id, SUP.pin);
  await page.locator('#unlock-passphrase').fill(SUP.passphrase);
  await page.keyboard.press('Enter');
  await expect(page.locator('#unlocked')).toBeVisible();
});

test.afterAll(async () => {
  await page.close();
});

test('the supervisor creates an officer and enrolls the officer\'s face and fingers in the window', async () => {
  test.setTimeout(360_000);
  await page.locator('nav [data-view="officers"]').click();
  await expect(page.locator(`#officers-table tr[data-officer="${SUP.id}"] .bio-status`)).toHaveText('Chưa đăng ký');
  await page.locator('#new-id').fill(OFF.id);
  await page.locator('#new-name').fill(OFF.name);
  await page.locator('#new-pin').fill(OFF.pin);
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  // Straight to the onboarding of the new account.
  await expect(page.locator('#onboarding')).toHaveAttribute('data-onboarding', OFF.id);
  await expect(page.locator('#onboarding h2')).toHaveText(`Sinh trắc học của cán bộ ${OFF.name} (${OFF.id})`);
  await expect(page.locator(`#officers-table tr[data-officer="${OFF.id}"]`)).toHaveAttribute('data-biometrics', 'none');

  // Saving without a face says what is missing, on the save step.
  await page.locator('#onboard-save').click();
  await expect(page.locator('#onboard-save-error')).toHaveText('Chụp khuôn mặt của cán bộ trước khi lưu.');

  // The face: the live preview and the liveness prompts while the camera captures.
  await page.locator('#onboard-capture-face').click();
  await expect(page.locator('#onboard-save-error')).toHaveText('');
  await expect(page.locator('#onboard-live')).toBeVisible();
  await expect(page.locator('#onboard-preview .preview-frame img')).toBeVisible({ timeout: 60_000 });
  await expect(page.locator('#onboard-preview .checks li').first()).toBeVisible();
  await shot('26-officer-onboarding-face');
  await expect(page.locator('#onboard-face-status')).toHaveText(
    'Người thật: cán bộ đã quay đầu theo yêu cầu. Khuôn mặt đã được mô tả bằng 2 bộ máy nhận dạng.',
    { timeout: FACE_TIMEOUT },
  );
  await expect(page.locator('#onboard-portrait')).toHaveJSProperty('complete', true);
  expect(await page.locator('#onboard-portrait').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(50);

  // The fingers the policy asks for: one, then Save names the one still owed.
  await expect(page.locator('#onboard-fingers tr[data-finger]')).toHaveCount(2);
  await page.locator('#onboard-fingers [data-finger="2"]').getByRole('button', { name: 'Lấy vân tay' }).click();
  await expect(page.locator('#onboard-fingers [data-finger="2"] .finger-status')).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  await expect(page.locator('#onboard-fingers [data-finger="2"] img.finger-image')).toHaveJSProperty('complete', true);
  await expect(page.locator('#onboard-finger-errors li[data-position="7"]')).toHaveText('Ngón trỏ trái: chưa lấy vân tay.');
  await page.locator('#onboard-save').click();
  await expect(page.locator('#onboard-save-error')).toHaveText(
    'Chưa đủ vân tay theo quy định của bàn: lấy các ngón còn thiếu nêu ở trên. Cán bộ không khai báo ngoại lệ.',
  );
  await page.locator('#onboard-fingers [data-finger="7"]').getByRole('button', { name: 'Lấy vân tay' }).click();
  await expect(page.locator('#onboard-fingers [data-finger="7"] .finger-status')).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  await expect(page.locator('#onboard-finger-errors')).toHaveCount(0);
  await expect(page.locator('#onboarding')).toHaveAttribute('data-ready', 'true');
  await shot('27-officer-onboarding-ready');
  await page.locator('#onboard-save').click();

  await expect(page.locator('#officers-status')).toHaveText('Đã lưu sinh trắc học của cán bộ.');
  await expect(page.locator('#onboarding')).toHaveCount(0);
  const row = page.locator(`#officers-table tr[data-officer="${OFF.id}"]`);
  await expect(row).toHaveAttribute('data-biometrics', 'enrolled');
  await expect(row.locator('.bio-status')).toHaveText(/^Đã đăng ký ngày \d\d\/\d\d\/\d{4}: 2 mô tả khuôn mặt, 2 ngón tay$/);
  await expect(row.getByRole('button', { name: 'Đăng ký lại' })).toBeVisible();
  await shot('28-officer-enrolled');
  await page.locator('#logout').click();
});

test('the officer enrolls a citizen with the officer\'s own face: the record waits with the operator flag', async () => {
  test.setTimeout(360_000);
  await login(OFF.id, OFF.pin);
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'card');
  await page.locator('#can').fill(CARD.can);
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', { timeout: 30_000 });
  await page.locator('#card-next').click();
  await page.locator('#capture-face').click();
  await expect(page.locator('#face-verdict')).toHaveText('Khuôn mặt khớp với ảnh trên chip.', { timeout: FACE_TIMEOUT });
  await page.locator('#face-next').click();
  for (const pos of ['2', '7']) {
    await page.locator(`[data-finger="${pos}"]`).getByRole('button', { name: 'Lấy vân tay' }).click();
    await expect(page.locator(`[data-finger="${pos}"] .finger-status`)).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  }
  await page.locator('#fingers-done').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'form', { timeout: 30_000 });
  await page.locator('#mobile').fill('0912 345 678');
  await page.locator('#consent').check();
  await page.getByRole('button', { name: 'Lưu đơn và xem lại' }).click();
  await expect(page.locator('#problems')).toHaveText('Hồ sơ đã đủ điều kiện để duyệt.');
  await page.locator('#approve-pin').fill(OFF.pin);
  await page.getByRole('button', { name: 'Duyệt và ký' }).click();
  await expect(page.locator('#done-message')).toHaveText(
    'Đã duyệt và ký hồ sơ. Hồ sơ đang chờ cán bộ giám sát duyệt rồi mới vào hàng đợi đồng bộ.',
    { timeout: 30_000 },
  );
  await expect(page.locator('#done-why')).toHaveText('Lý do chờ duyệt: kiểm tra cán bộ cần giám sát xem lại.');
  await page.getByRole('button', { name: 'Về trang chính' }).click();
  await page.locator('#logout').click();
});

test('the supervisor\'s review shows the operator check\'s face flag', async () => {
  await login(SUP.id, SUP.pin);
  await page.locator('nav [data-view="ops"]').click();
  const item = page.locator(`#review-pending tr[data-item][data-officer="${OFF.id}"]`);
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('Cảnh báo: operator-face');
  await expect(item).not.toContainText('operator-unenrolled');
  await shot('29-officer-flag-review');
  await page.locator('#logout').click();
});
