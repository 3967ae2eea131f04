import { expect, test, type Page } from '@playwright/test';
import * as e2e from './helpers';

// A finger that cannot be captured, from the wizard to the supervisor's review. A desk of its own
// (its bridge reads the main desk's virtual CCCD with its trust store, films Hans Blix with the
// simulated camera, runs the sensor simulator and the embedded registry) with the e2e policy:
// released at once, except that an exception waits for the supervisor. An officer declares the
// left index finger bandaged: the desk camera takes the evidence photo, the step shows it and the
// finger policy asks for a thumb instead; approved, the record waits for review, and the
// supervisor sees the photo there.
test.describe.configure({ mode: 'serial' });

const port = Number(process.env.E2E_PORT ?? 35117) + 5;
const base = `http://127.0.0.1:${port}`;
test.use({ baseURL: base });
const SUP = { id: 'gs.mai', name: 'Đỗ Thị Mai', pin: '731946', passphrase: 'mật khẩu bàn ngoại lệ' };
const OFF = { id: 'cb.tuan', name: 'Vũ Minh Tuấn', pin: '604825' };
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
  expect((await api('Officers/Create', { id: OFF.id, name: OFF.name, role: 'officer', pin: OFF.pin })).ok).toBeTruthy();
  await page.locator('#unlock-passphrase').fill(SUP.passphrase);
  await page.keyboard.press('Enter');
  await expect(page.locator('#unlocked')).toBeVisible();
  await page.locator('#logout').click();
  await login(OFF.id, OFF.pin);
});

test.afterAll(async () => {
  await page.close();
});

test('an officer declares a bandaged finger: the evidence photo, the thumb asked instead, the record waits for review', async () => {
  test.setTimeout(360_000);
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'card');
  await page.locator('#can').fill(CARD.can);
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', { timeout: 30_000 });
  await page.locator('#card-next').click();
  await page.locator('#capture-face').click();
  await expect(page.locator('#face-verdict')).toHaveText('Khuôn mặt khớp với ảnh trên chip.', { timeout: FACE_TIMEOUT });
  await page.locator('#face-next').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'fingers');

  await page.locator('[data-finger="2"]').getByRole('button', { name: 'Lấy vân tay' }).click();
  await expect(page.locator('[data-finger="2"] .finger-status')).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  await page.locator('#reason-7').selectOption('bandaged');
  await page.locator('[data-finger="7"]').getByRole('button', { name: 'Ghi nhận' }).click();
  await expect(page.locator('[data-finger="7"] .finger-status')).toContainText('Không lấy được vì: Đang băng bó');
  await expect(page.locator('[data-finger="7"] img.evidence')).toHaveJSProperty('complete', true);
  expect(await page.locator('[data-finger="7"] img.evidence').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(50);
  // Two fingers are needed, index fingers first, then thumbs: the right thumb is asked for.
  await expect(page.locator('#finger-errors li[data-position="1"]')).toHaveText('Ngón cái phải: cần lấy vân tay hoặc khai báo ngoại lệ.');
  await shot('23-exception-fingers');
  await page.locator('[data-finger="1"]').getByRole('button', { name: 'Lấy vân tay' }).click();
  await expect(page.locator('[data-finger="1"] .finger-status')).toHaveText(/^Chất lượng \d+\/100$/, { timeout: 90_000 });
  await expect(page.locator('#finger-errors')).toHaveCount(0);
  await page.locator('#fingers-done').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'form', { timeout: 30_000 });

  await page.locator('#mobile').fill('0912 345 678');
  await page.locator('#consent').check();
  await page.getByRole('button', { name: 'Lưu đơn và xem lại' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'review');
  await expect(page.locator('#problems')).toHaveText('Hồ sơ đã đủ điều kiện để duyệt.');
  await page.locator('#approve-pin').fill(OFF.pin);
  await page.getByRole('button', { name: 'Duyệt và ký' }).click();
  await expect(page.locator('#done-message')).toHaveText(
    'Đã duyệt và ký hồ sơ. Hồ sơ đang chờ cán bộ giám sát duyệt rồi mới vào hàng đợi đồng bộ.',
    { timeout: 30_000 },
  );
  await expect(page.locator('#done-why')).toHaveText('Lý do chờ duyệt: có ngón tay ngoại lệ.');
  await shot('24-exception-pending');
  await page.getByRole('button', { name: 'Về trang chính' }).click();
  await page.locator('#logout').click();
});

test('the supervisor sees the evidence photo in the review', async () => {
  await login(SUP.id, SUP.pin);
  await page.locator('nav [data-view="ops"]').click();
  await expect(page.locator('#review-pending tr[data-item]')).toHaveCount(1);
  await page.locator('#review-pending tr[data-item] button.open').click();
  await expect(page.locator('#review-exceptions li[data-position="7"]')).toContainText('ngón trỏ trái: Đang băng bó');
  await expect(page.locator('#review-exceptions img.evidence')).toHaveJSProperty('complete', true);
  expect(await page.locator('#review-exceptions img.evidence').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(50);
  await shot('25-exception-review');
  await page.locator('#logout').click();
});
