import { expect, test, type Page } from '@playwright/test';
import { shot } from './helpers';

// The enrollment wizard against the real backend and the real virtual CCCD (pcscd + vpcd + the
// bridge's virtual card, signed by a test CSCA the desk trusts) and the R30x sensor simulator on
// a pty: a wrong card key, the checks of every step, and a rejection with its reason. The full
// enrollment to an approved, synced record is 10-full-enrollment.
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.lan', pin: '246813' };
const CARD = { id: '001199012345', dob: '15/03/1999', doe: '15/03/2024', can: '482915' };


let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto('/');
  await page.locator('#officerId').fill(SUP.id);
  await page.locator('#pin').fill(SUP.pin);
  await page.keyboard.press('Enter');
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
});

test.afterAll(async () => {
  // The backend holds one session: log out so the next file starts on the login screen.
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await page.close();
});

test('card step: a wrong access key is refused with what to check', async () => {
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'card');
  await expect(page.locator('h2')).toHaveText('Bước 1: Đọc thẻ căn cước');
  await shot(page, '05-card');
  // Checked before the chip is asked.
  await page.locator('#can').fill('123');
  await page.keyboard.press('Enter');
  await expect(page.locator('#can-error')).toHaveText('Số CAN gồm đúng 6 chữ số.');
  // A wrong CAN: the chip refuses PACE (BSI TR-03110 mutual authentication fails).
  await page.locator('#can').fill('123456');
  await page.keyboard.press('Enter');
  await expect(page.locator('#wizard-error')).toHaveText(
    'Không mở được chip: số CAN hoặc số định danh, ngày sinh, ngày hết hạn chưa đúng. Kiểm tra lại trên thẻ.',
    { timeout: 30_000 },
  );
  await expect(page.locator('#chip')).toHaveCount(0);
  // A wrong birth date: the chip refuses the MRZ-derived key.
  await page.locator('#can').fill('');
  await page.locator('#idNumber').fill(CARD.id);
  await page.locator('#dateOfBirth').fill('16/03/1999');
  await page.locator('#dateOfExpiry').fill(CARD.doe);
  await page.keyboard.press('Enter');
  await expect(page.locator('#wizard-error')).toHaveText(
    'Không mở được chip: số CAN hoặc số định danh, ngày sinh, ngày hết hạn chưa đúng. Kiểm tra lại trên thẻ.',
    { timeout: 30_000 },
  );
  await expect(page.locator('#chip')).toHaveCount(0);
});

test('card step: the right CAN reads and proves the chip (PACE, passive authentication)', async () => {
  await page.locator('#can').fill(CARD.can);
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText(
    'Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.',
    { timeout: 30_000 },
  );
  const chip = page.locator('#chip');
  await expect(chip).toContainText('Nguyễn Thị Hương');
  await expect(chip).toContainText(CARD.id);
  await expect(chip).toContainText('15/03/1999');
  await expect(chip).toContainText('Số 12 Phố Hàng Bạc');
  // The chip photo is a decoded JPEG, not a broken image.
  const width = await chip.locator('img.chip-photo').evaluate((img) => (img as HTMLImageElement).naturalWidth);
  expect(width).toBeGreaterThan(50);
  await shot(page, '06-card-read');
});

test('face step: the chip photo is shown; going on without a capture leaves approval blocked', async () => {
  await page.locator('#card-next').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'face');
  await expect(page.locator('#face-step img.chip-photo')).toBeVisible();
  await expect(page.locator('#capture-face')).toHaveText('Chụp ảnh');
  await expect(page.locator('#face-result')).toHaveCount(0);
});

test('fingers step: the sensor captures a finger with its quality; an exception can be recorded', async () => {
  await page.locator('#face-next').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'fingers');
  await page.locator('[data-finger="2"]').getByRole('button', { name: 'Lấy vân tay' }).click();
  await expect(page.locator('#finger-prompt')).toContainText('Đặt ngón trỏ phải lên máy quét');
  await expect(page.locator('[data-finger="2"] .finger-status')).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 60_000 });
  // The image the sensor sent is shown beside its quality (a decoded PNG, not a broken image).
  const shown = page.locator('#finger-image-2');
  await expect(shown).toBeVisible();
  expect(await shown.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(256);
  await expect(page.locator('#wizard-error')).toHaveText('');
  await page.locator('#reason-7').selectOption('bandaged');
  await page.locator('[data-finger="7"]').getByRole('button', { name: 'Ghi nhận' }).click();
  await expect(page.locator('[data-finger="7"] .finger-status')).toHaveText('Không lấy được vì: Đang băng bó');
  await shot(page, '08-fingers');
  await page.locator('#fingers-done').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'form');
});

test('form step: Vietnamese mobile numbers are validated; Esc goes back a step', async () => {
  await page.locator('#mobile').fill('0212 345 678'); // a landline prefix
  await page.getByRole('button', { name: 'Lưu đơn và xem lại' }).click();
  await expect(page.locator('#mobile-error')).toHaveText(
    'Số di động Việt Nam không hợp lệ (ví dụ 0912 345 678 hoặc +84 912 345 678).',
  );
  await expect(page.locator('#consent-error')).toHaveText('Cần có sự đồng ý của công dân.');
  await page.locator('#mobile').fill('+84 912 345 678');
  await page.locator('#email').fill('huong@example.vn');
  await page.getByLabel('Giấy phép lái xe').check();
  await page.locator('#consent').check();
  await shot(page, '09-form');
  await page.locator('body').press('Escape');
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'fingers');
  await page.locator('#fingers-done').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'form');
  await page.locator('#mobile').fill('0912.345.678');
  await page.locator('#consent').check();
  await page.getByRole('button', { name: 'Lưu đơn và xem lại' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'review');
});

test('review step: what blocks approval is listed; a rejection is recorded with its reason', async () => {
  const problems = page.locator('#problems');
  await expect(problems).toContainText('Chưa chụp ảnh khuôn mặt.');
  await expect(problems).toContainText('Chưa tra cứu trùng lặp sinh trắc học.');
  // Right index captured and left index declared: the finger policy is met.
  await expect(problems).not.toContainText('vân tay');
  await expect(page.getByRole('button', { name: 'Duyệt và ký' })).toBeDisabled();
  await expect(page.locator('#review-step')).toContainText('0912.345.678');
  await shot(page, '10-review');
  await page.locator('#reject-reason').selectOption('citizen-withdrew');
  await page.locator('#reject').click();
  await expect(page.locator('#done-message')).toHaveText('Đã từ chối hồ sơ. Lý do: Công dân rút yêu cầu.');
  await shot(page, '11-rejected');
  await page.getByRole('button', { name: 'Về trang chính' }).click();
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
});

test('queue and device panels work offline and name each device', async () => {
  await page.locator('nav [data-view="queue"]').click();
  await expect(page.locator('#q-queued')).toContainText('0');
  await expect(page.locator('#q-last')).toHaveText('Chưa đồng bộ lần nào.');
  // Not registered with the registry yet (10-full-enrollment does it): records would stay queued.
  await expect(page.locator('#q-not-uploading')).toHaveText(
    'Bàn chưa đăng ký với máy chủ trung ương hoặc chưa mở khóa: hồ sơ được giữ trong hàng đợi.',
  );
  await shot(page, '12-queue');
  await page.locator('nav [data-view="devices"]').click();
  await expect(page.locator('[data-device="reader"]')).toHaveAttribute('data-state', /ready|no_card/);
  // The simulated camera: a clip file in the desk's data directory.
  await expect(page.locator('[data-device="camera"]')).toHaveAttribute('data-state', 'ready');
  await expect(page.locator('[data-device="camera"]')).toContainText('camera.avi');
  await expect(page.locator('[data-device="sensor"]')).toHaveAttribute('data-state', 'ready');
  await page.locator('#reconnect').click();
  await expect(page.locator('[data-device="reader"]')).toContainText('Virtual PCD');
  await shot(page, '13-devices');
});

test('history: searched by ID number and day, validated, empty while nothing was approved', async () => {
  await page.locator('nav [data-view="history"]').click();
  await expect(page.locator('#history-empty')).toHaveText('Không có hồ sơ nào phù hợp.');
  await page.locator('#h-id').fill('0011990');
  await page.locator('#h-date').fill('31/02/2026');
  await page.getByRole('button', { name: 'Tìm kiếm' }).click();
  await expect(page.locator('#h-id-error')).toHaveText('Số định danh gồm 12 chữ số.');
  await expect(page.locator('#h-date-error')).toHaveText('Ngày không hợp lệ; nhập theo dạng dd/mm/yyyy.');
  await page.locator('#h-id').fill('001199012345');
  await page.locator('#h-date').fill('');
  await page.getByRole('button', { name: 'Tìm kiếm' }).click();
  await expect(page.locator('#h-id-error')).toHaveText('');
  await expect(page.locator('#history-empty')).toBeVisible();
});
