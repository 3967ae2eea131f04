// Helpers the specs share. Not a spec itself (Playwright runs *.spec.ts only).
import { expect, type Page } from '@playwright/test';

const shots = process.env.SCREENSHOTS ? '../docs/screenshots/' : null;

/** shot saves a screenshot for the docs (docs/screenshots/<name>.png) when SCREENSHOTS is set. */
export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  if (shots) await page.screenshot({ path: `${shots}${name}.png`, fullPage });
}

/** submitLogin fills the login form and submits it, whatever the answer. */
export async function submitLogin(page: Page, id: string, pin: string): Promise<void> {
  await page.locator('#officerId').fill(id);
  await page.locator('#pin').fill(pin);
  await page.keyboard.press('Enter');
}

/** login logs in and waits for the home screen. */
export async function login(page: Page, id: string, pin: string): Promise<void> {
  await submitLogin(page, id, pin);
  await expect(page.locator('h1')).toHaveText('Tiếp nhận hồ sơ');
}

/** Supervisor is the first-start form's account and the desk passphrase. */
export interface Supervisor {
  id: string;
  name: string;
  pin: string;
  passphrase: string;
}

/**
 * openDesk opens the window at its login screen: it logs out whoever a file before left logged in
 * (the desk has one session) and, when the file runs alone on a new desk, provisions it for sup.
 */
export async function openDesk(page: Page, sup: Supervisor): Promise<void> {
  await page.goto('/');
  await expect(page.locator('h1')).toBeVisible();
  if ((await page.locator('#logout').count()) > 0) await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText(/Khởi tạo bàn làm việc|Đăng nhập/);
  if ((await page.locator('h1').textContent()) === 'Khởi tạo bàn làm việc') {
    await page.locator('#passphrase').fill(sup.passphrase);
    await page.locator('#passphrase2').fill(sup.passphrase);
    await page.locator('#supervisorId').fill(sup.id);
    await page.locator('#supervisorName').fill(sup.name);
    await page.locator('#pin').fill(sup.pin);
    await page.locator('#pin2').fill(sup.pin);
    await page.keyboard.press('Enter');
    await expect(page.locator('h1')).toHaveText('Đăng nhập');
  }
}

/** ApiResult is a bound method's answer (desk/app Response). */
export interface ApiResult {
  ok: boolean;
  data?: unknown;
  error?: { code: string };
}

/** api calls a bound method ("Struct/Method") of the bridge at base, over HTTP as the window does. */
export async function api(page: Page, base: string, method: string, ...args: unknown[]): Promise<ApiResult> {
  const r = await page.request.post(`${base}/api/${method}`, { data: args });
  expect(r.ok()).toBeTruthy();
  return (await r.json()) as ApiResult;
}
