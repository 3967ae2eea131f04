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
