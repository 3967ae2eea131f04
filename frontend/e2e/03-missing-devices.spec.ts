import { expect, test, type Page } from '@playwright/test';
import { shot } from './helpers';

// A second desk (its own bridge and data directory) with no card reader and no fingerprint sensor
// plugged in and no camera: every screen must say what is missing and what to do, never freeze.
const port = Number(process.env.E2E_PORT ?? 35117) + 1;
test.use({ baseURL: `http://127.0.0.1:${port}` });
test.describe.configure({ mode: 'serial' });


test('a desk without reader and sensor says so in the wizard and the device panel', async ({ page }) => {
  await page.goto('/');
  await page.locator('#passphrase').fill('mật khẩu bàn thứ hai');
  await page.locator('#passphrase2').fill('mật khẩu bàn thứ hai');
  await page.locator('#supervisorId').fill('gs.binh');
  await page.locator('#supervisorName').fill('Trần Văn Bình');
  await page.locator('#pin').fill('135790');
  await page.locator('#pin2').fill('135790');
  await page.keyboard.press('Enter');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await page.locator('#officerId').fill('gs.binh');
  await page.locator('#pin').fill('135790');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await page.locator('#can').fill('482915');
  await page.keyboard.press('Enter');
  await expect(page.locator('#wizard-error')).toHaveText('Không tìm thấy đầu đọc thẻ. Kiểm tra cáp USB rồi bấm Thử lại.');
  // The form is still usable: the officer can retry once the reader is plugged in.
  await expect(page.getByRole('button', { name: 'Đọc thẻ' })).toBeEnabled();

  await page.locator('nav [data-view="devices"]').click();
  await expect(page.locator('[data-device="reader"]')).toHaveAttribute('data-state', 'missing');
  await expect(page.locator('[data-device="sensor"]')).toHaveAttribute('data-state', 'missing');
  await expect(page.locator('[data-device="camera"]')).toHaveAttribute('data-state', 'missing');
  await expect(page.locator('[data-device="camera"] .state')).toHaveText('Không tìm thấy: kiểm tra cáp USB rồi bấm Kết nối lại.');
  // The supervisor also sees what the device layer said, for the technician.
  await expect(page.locator('[data-device="sensor"] .device-detail')).toContainText('ttyUSB-enrolldesk-absent');
  await expect(page.locator('[data-device="sensor"] .state')).toHaveText('Không tìm thấy: kiểm tra cáp USB rồi bấm Kết nối lại.');
  await page.locator('#reconnect').click();
  await expect(page.locator('[data-device="sensor"]')).toHaveAttribute('data-state', 'missing');
  await shot(page, '14-devices-missing');
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});
