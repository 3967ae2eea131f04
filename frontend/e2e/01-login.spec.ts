import { expect, test, type Page } from '@playwright/test';
import * as e2e from './helpers';
import { submitLogin as login } from './helpers';

// One desk for the whole run (files run in name order): first start, language switch, wrong PIN,
// right PIN here; the wizard in 02-enroll; the lockout last (99-lockout), as it locks the account.
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.lan', name: 'Nguyễn Thị Lan', pin: '246813', passphrase: 'mật khẩu bàn số một' };

const shot = (page: Page, name: string): Promise<void> => e2e.shot(page, name, false);

test('a fresh desk opens on the first-start screen and provisions a supervisor', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('h1')).toHaveText('Khởi tạo bàn làm việc');
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
  await shot(page, '01-first-start');
  // The form checks itself before the backend does.
  await page.locator('#passphrase').fill('ngắn');
  await page.getByRole('button', { name: 'Khởi tạo' }).click();
  await expect(page.locator('#passphrase-error')).toHaveText('Mật khẩu bàn phải có ít nhất 12 ký tự.');
  await page.locator('#passphrase').fill(SUP.passphrase);
  await page.locator('#passphrase2').fill(SUP.passphrase);
  await page.locator('#supervisorId').fill(SUP.id);
  await page.locator('#supervisorName').fill(SUP.name);
  await page.locator('#pin').fill(SUP.pin);
  await page.locator('#pin2').fill(SUP.pin);
  await page.getByRole('button', { name: 'Khởi tạo' }).click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await expect(page.locator('main')).toContainText('Bàn làm việc: ');
});

test('the language switch translates the login screen and is remembered', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await expect(page.getByLabel('Mã cán bộ')).toBeVisible();
  await shot(page, '02-login-vi');
  await page.locator('#language').selectOption('en');
  await expect(page.locator('h1')).toHaveText('Log in');
  await expect(page.getByLabel('Officer ID')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await shot(page, '02-login-en');
  await page.reload();
  await expect(page.locator('h1')).toHaveText('Log in');
  await page.locator('#language').selectOption('vi');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});

test('a wrong PIN is refused, the right PIN opens the empty enrollment home', async ({ page }) => {
  await page.goto('/');
  await login(page, SUP.id, '000000');
  await expect(page.getByRole('alert').filter({ hasText: 'không đúng' })).toHaveText('Mã cán bộ hoặc mã PIN không đúng.');
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
  await expect(page.locator('#pin')).toHaveValue('');
  await login(page, SUP.id, SUP.pin);
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
  await expect(page.locator('#home-empty')).toHaveText('Chưa có hồ sơ nào được tiếp nhận hôm nay.');
  await expect(page.locator('header')).toContainText(`${SUP.name} · Cán bộ giám sát`);
  // Today's date, dd/mm/yyyy, in the desk's time zone.
  const today = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh' }).format(new Date());
  await expect(page.locator('main')).toContainText(`Hôm nay: ${today}`);
  await shot(page, '03-home');
  await page.getByRole('button', { name: 'Đăng xuất' }).click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});
