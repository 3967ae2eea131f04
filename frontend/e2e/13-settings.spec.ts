import { expect, test, type Page } from '@playwright/test';
import { login, openDesk, shot } from './helpers';

// The supervisor's thresholds-and-devices screen on the second desk (no devices plugged in): the
// supervisor changes a quality threshold (the PIN again; a wrong PIN and an out-of-range value
// are refused by name) and the desk's finger policy says the new minimum at once; device
// preferences are checked field by field and each device can be tested; an officer gets neither
// the nav entry nor the service.
const port = Number(process.env.E2E_PORT ?? 35117) + 1;
test.use({ baseURL: `http://127.0.0.1:${port}` });
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.binh', name: 'Trần Văn Bình', pin: '135790', passphrase: 'mật khẩu bàn thứ hai' };
const OFF = { id: 'cb.thu', name: 'Đỗ Thị Thu', pin: '246801' };

// The desk is provisioned by 03-missing-devices; when this file runs alone, openDesk does it.

test('a supervisor changes a threshold with the PIN again, and it takes effect', async ({ page }) => {
  await openDesk(page, SUP);
  await login(page, SUP.id, SUP.pin);
  await page.locator('nav [data-view="settings"]').click();
  await expect(page.locator('h1')).toHaveText('Ngưỡng chất lượng và thiết bị');
  const finger = page.locator('#th-finger_min_quality');
  const face = page.locator('#th-face_min_quality');
  await expect(finger).toHaveValue('40');
  await expect(face).toHaveValue('0.5');
  await expect(page.locator('label[for="th-face_min_quality"]')).toHaveText('Chất lượng ảnh khuôn mặt tối thiểu (0–1)');

  // A wrong PIN changes nothing.
  await finger.fill('60');
  await page.locator('#th-pin').fill('000000');
  await page.locator('#thresholds-save').click();
  await expect(page.locator('#thresholds-status')).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
  // Out of range: refused under its own field.
  await face.fill('1,5');
  await page.locator('#th-pin').fill(SUP.pin);
  await page.locator('#thresholds-save').click();
  await expect(page.locator('#th-face_min_quality-error')).toHaveText('Thông tin chưa hợp lệ.');
  // Both in range: saved.
  await face.fill('0,6');
  await page.locator('#th-pin').fill(SUP.pin);
  await page.locator('#thresholds-save').click();
  await expect(page.locator('#thresholds-status')).toHaveText('Đã lưu. Ngưỡng mới áp dụng từ lần chụp tiếp theo.');
  await expect(page.locator('#th-finger_min_quality')).toHaveValue('60');
  await expect(page.locator('#th-face_min_quality')).toHaveValue('0.6');
  await shot(page, '16-settings');

  // The finger policy the wizard checks says the new minimum at once.
  await page.locator('nav [data-view="ops"]').click();
  await expect(page.locator('#finger-policy')).toContainText('đạt chất lượng từ 60/100');
  // Back on the screen the values are what was stored.
  await page.locator('nav [data-view="settings"]').click();
  await expect(page.locator('#th-finger_min_quality')).toHaveValue('60');
  await page.locator('#logout').click();
});

test('device preferences are checked field by field, and each device can be tested', async ({ page }) => {
  await page.goto('/');
  await login(page, SUP.id, SUP.pin);
  await page.locator('nav [data-view="settings"]').click();
  // This desk has no devices: each says so, and testing it again says so too.
  await expect(page.locator('#settings-devices [data-device="sensor"]')).toHaveAttribute('data-state', 'missing');
  await page.locator('#settings-devices [data-test="camera"]').click();
  await expect(page.locator('#settings-devices [data-device="camera"] .test-result')).toHaveText(/^Đã kiểm tra lúc \d{2}:\d{2}$/);
  await expect(page.locator('#settings-devices [data-device="camera"] .state')).toHaveText('Không tìm thấy: kiểm tra cáp USB rồi bấm Kết nối lại.');

  await page.locator('#dev-sensorPort').fill('/dev/ttyUSB0');
  await page.locator('#dev-sensorBaud').fill('12345');
  await page.locator('#dev-pin').fill(SUP.pin);
  await page.locator('#devices-save').click();
  await expect(page.locator('#dev-sensorBaud-error')).toHaveText('Thông tin chưa hợp lệ.');
  await page.locator('#dev-sensorBaud').fill('115200');
  await page.locator('#dev-cameraSource').fill('/dev/video0');
  await page.locator('#dev-pin').fill(SUP.pin);
  await page.locator('#devices-save').click();
  await expect(page.locator('#devices-status')).toHaveText('Đã lưu. Thiết bị mới áp dụng từ lần khởi động bàn tiếp theo.');
  await expect(page.locator('#dev-sensorBaud')).toHaveValue('115200');
  await expect(page.locator('#dev-cameraSource')).toHaveValue('/dev/video0');
  await page.locator('#logout').click();
});

test('an officer cannot see the screen, nor call its service', async ({ page }) => {
  await page.goto('/');
  await login(page, SUP.id, SUP.pin);
  await page.locator('nav [data-view="officers"]').click();
  await page.locator('#new-id').fill(OFF.id);
  await page.locator('#new-name').fill(OFF.name);
  await page.locator('#new-pin').fill(OFF.pin);
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await expect(page.locator(`[data-officer="${OFF.id}"]`)).toContainText('Cán bộ tiếp nhận');
  await page.locator('#logout').click();
  await login(page, OFF.id, OFF.pin);
  await expect(page.locator('nav [data-view="ops"]')).toHaveCount(1);
  await expect(page.locator('nav [data-view="settings"]')).toHaveCount(0);
  const answer = await page.evaluate(async () => {
    const r = await fetch('/api/DeskSettings/View', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[]' });
    return (await r.json()) as { ok: boolean; error?: { code: string } };
  });
  expect(answer).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  await page.locator('#logout').click();
});
