import { expect, test, type Page } from '@playwright/test';
import { shot } from './helpers';

// The card step by the QR code on the card's front. A fourth desk (its own bridge and data
// directory) reads the main desk's virtual CCCD on the shared reader with its trust store; its
// simulated camera shows the front of that card, whose QR code (rendered by the bridge from the
// same citizen's data, desk/wire.CardFrames) is read with OpenCV's detector and reader/qrdecode.
// The officer checks what the QR code says, then the chip is opened with the key derived from it
// (the expiry is not in the QR code: it is computed from the birth and issue dates).
const main = Number(process.env.E2E_PORT ?? 35117);
const port = main + 3;
test.use({ baseURL: `http://127.0.0.1:${port}` });
test.describe.configure({ mode: 'serial' });


test('card step by QR: the camera reads the card front, the officer confirms, the chip opens', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await page.locator('#passphrase').fill('mật khẩu bàn thứ tư');
  await page.locator('#passphrase2').fill('mật khẩu bàn thứ tư');
  await page.locator('#supervisorId').fill('gs.dung');
  await page.locator('#supervisorName').fill('Lê Thị Dung');
  await page.locator('#pin').fill('864201');
  await page.locator('#pin2').fill('864201');
  await page.keyboard.press('Enter');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await page.locator('#officerId').fill('gs.dung');
  await page.locator('#pin').fill('864201');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'card');

  // The reader's watcher tells the step that the card is already on the reader.
  const presence = page.locator('#card-presence');
  await expect(presence).toHaveAttribute('data-state', 'present', { timeout: 15_000 });
  await expect(presence).toHaveText('Đã có thẻ trên đầu đọc.');

  await page.getByRole('button', { name: 'Quét mã QR trên thẻ' }).click();
  const confirm = page.locator('#qr-confirm');
  await expect(confirm).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('#qr-id')).toHaveText('001199012345');
  await expect(page.locator('#qr-name')).toHaveText('Nguyễn Thị Hương');
  await expect(page.locator('#qr-dob')).toHaveText('15/03/1999');
  await expect(page.locator('#qr-issued')).toHaveText('20/04/2021');
  // Derived: the 25th birthday, the first of 25/40/60 after the issue date.
  await expect(page.locator('#qr-expires')).toHaveText('15/03/2024');
  await expect(page.locator('#chip')).toHaveCount(0);
  await shot(page, 'card-qr-1-confirm');

  await page.getByRole('button', { name: 'Đúng, đọc chip' }).click();
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', {
    timeout: 30_000,
  });
  const chip = page.locator('#chip');
  await expect(chip).toContainText('Nguyễn Thị Hương');
  await expect(chip).toContainText('001199012345');
  await expect(confirm).toHaveCount(0);
  await shot(page, 'card-qr-2-read');

  // The device panel follows the reader from the same watcher.
  await page.locator('nav [data-view="devices"]').click();
  await expect(page.locator('[data-device="reader"]')).toHaveAttribute('data-state', 'ready');
});
