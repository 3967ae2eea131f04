import { expect, test, type Page } from '@playwright/test';
import { shot, submitLogin as login } from './helpers';

// Officer accounts and the PIN lockout: the supervisor creates an officer, the officer locks
// themself out with wrong PINs, the supervisor lifts the lock, and the officer gets in.
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.lan', pin: '246813' };
const OFF = { id: 'cb.an', name: 'Lê Văn An', pin: '112233' };



async function clearAlert(page: Page): Promise<void> {
  await page.evaluate(() => {
    const el = document.querySelector('.form-error');
    if (el) el.textContent = '';
  });
}

test('a supervisor creates an officer account', async ({ page }) => {
  await page.goto('/');
  await login(page, SUP.id, SUP.pin);
  await page.locator('nav [data-view="officers"]').click();
  await expect(page.locator('h1')).toHaveText('Tài khoản cán bộ');
  await page.locator('#new-id').fill(OFF.id);
  await page.locator('#new-name').fill(OFF.name);
  await page.locator('#new-pin').fill('12');
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await expect(page.locator('#new-pin-error')).toHaveText('Mã PIN gồm 6–12 chữ số.');
  await page.locator('#new-pin').fill(OFF.pin);
  await page.getByRole('button', { name: 'Tạo tài khoản' }).click();
  await expect(page.locator(`[data-officer="${OFF.id}"]`)).toContainText('Cán bộ tiếp nhận');
  await shot(page, '15-officers');
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});

test('repeated wrong PINs lock the account and say until when', async ({ page }) => {
  await page.goto('/');
  const alert = page.locator('.form-error');
  // officer.DefaultPolicy locks on the 5th consecutive wrong PIN.
  for (let i = 1; i <= 4; i++) {
    await login(page, OFF.id, `00000${i}`);
    await expect(alert).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
    await clearAlert(page);
  }
  await login(page, OFF.id, '000005');
  await expect(alert).toContainText('Tài khoản tạm khóa do nhập sai mã PIN nhiều lần. Thử lại lúc ');
  await expect(alert).toHaveText(/lúc \d{2}:\d{2} ngày \d{2}\/\d{2}\/\d{4}\.$/);
  await shot(page, '04-locked');
  await clearAlert(page);
  await login(page, OFF.id, OFF.pin);
  await expect(alert).toContainText('tạm khóa');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});

test('the supervisor lifts the lock and the officer logs in, without the officers tab', async ({ page }) => {
  await page.goto('/');
  await login(page, SUP.id, SUP.pin);
  await page.locator('nav [data-view="officers"]').click();
  await page.locator(`[data-officer="${OFF.id}"] button.unlock`).click();
  await expect(page.locator('#officers-status')).toHaveText('Đã lưu.');
  await page.locator('#logout').click();
  await login(page, OFF.id, OFF.pin);
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
  await expect(page.locator('header')).toContainText(`${OFF.name} · Cán bộ tiếp nhận`);
  await expect(page.locator('nav [data-view="officers"]')).toHaveCount(0);
  await page.locator('#logout').click();
});
