import { expect, test, type Page } from '@playwright/test';

// Last file of the run: it locks the supervisor's account for 15 minutes.
const SUP = { id: 'gs.lan', pin: '246813' };
const shots = process.env.SCREENSHOTS ? '../docs/screenshots/' : null;

async function shot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: `${shots}${name}.png` });
}

async function login(page: Page, id: string, pin: string): Promise<void> {
  await page.locator('#officerId').fill(id);
  await page.locator('#pin').fill(pin);
  await page.keyboard.press('Enter');
}

test('repeated wrong PINs lock the account and say until when', async ({ page }) => {
  await page.goto('/');
  const alert = page.locator('.form-error');
  // The lead's policy locks on the 5th consecutive wrong PIN (officer.DefaultPolicy).
  for (let i = 1; i <= 4; i++) {
    await login(page, SUP.id, `00000${i}`);
    await expect(alert).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
    await page.evaluate(() => {
      const el = document.querySelector('.form-error');
      if (el) el.textContent = '';
    });
  }
  await login(page, SUP.id, '000005');
  await expect(alert).toContainText('Tài khoản tạm khóa do nhập sai mã PIN nhiều lần. Thử lại lúc ');
  await expect(alert).toHaveText(/lúc \d{2}:\d{2} ngày \d{2}\/\d{2}\/\d{4}\.$/);
  await shot(page, '04-locked');
  // Even the right PIN is refused while locked.
  await page.evaluate(() => {
    const el = document.querySelector('.form-error');
    if (el) el.textContent = '';
  });
  await login(page, SUP.id, SUP.pin);
  await expect(alert).toContainText('tạm khóa');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});
