import { expect, test, type Page } from '@playwright/test';
import { login, openDesk, shot } from './helpers';

// The face step's live preview, in the browser against the real backend: the third desk's
// simulated camera (real photos of Hans Blix turning his head, each composed with the face in
// the middle of a 1280×720 frame) streams through the real face pipeline; while the capture runs
// the window shows the downscaled frame, the box the detector found around the face, and one
// indicator per ICAO quality check, which change as the head turns, in place.
const main = Number(process.env.E2E_PORT ?? 35117);
test.use({ baseURL: `http://127.0.0.1:${main + 2}` });
test.describe.configure({ mode: 'serial' });

const SUP = { id: 'gs.cuong', name: 'Phạm Văn Cường', pin: '975310', passphrase: 'mật khẩu bàn thứ ba' };

/** loginSupervisor logs in, provisioning the desk first when this file runs alone. */
async function loginSupervisor(page: Page): Promise<void> {
  await openDesk(page, SUP);
  await login(page, SUP.id, SUP.pin);
}

test('the face step shows the camera, the face box and live quality indicators while it captures', async ({ page }) => {
  test.setTimeout(300_000);
  await loginSupervisor(page);
  await page.getByRole('button', { name: 'Tiếp nhận công dân mới' }).click();
  await page.locator('#can').fill('482915');
  await page.keyboard.press('Enter');
  await expect(page.locator('#verdict')).toHaveText('Thẻ thật: chữ ký số trên chip hợp lệ và dữ liệu không bị sửa đổi.', {
    timeout: 30_000,
  });
  await page.locator('#card-next').click();
  await expect(page.locator('#wizard')).toHaveAttribute('data-step', 'face');

  await page.locator('#capture-face').click();
  const preview = page.locator('#face-preview');
  await expect(preview).toBeVisible();
  // The first frame arrives: a JPEG of at most 320 px, shown with the box the detector found.
  const img = page.locator('#face-preview-img');
  await expect(img).toBeVisible({ timeout: 120_000 });
  await expect(img).toHaveAttribute('src', /^data:image\/jpeg;base64,/);
  const natural = await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight]);
  expect(natural).toEqual([320, 180]);
  const box = page.locator('#face-box');
  await expect(box).toBeVisible({ timeout: 30_000 });
  const ib = await img.boundingBox();
  const bb = await box.boundingBox();
  expect(ib && bb).toBeTruthy();
  if (ib && bb) {
    // Inside the picture, around the face the clip put in its middle (x 640 of 1280), about a
    // fifth of the frame wide (250 px of 1280).
    expect(bb.x).toBeGreaterThanOrEqual(ib.x - 1);
    expect(bb.x + bb.width).toBeLessThanOrEqual(ib.x + ib.width + 1);
    const cx = (bb.x + bb.width / 2 - ib.x) / ib.width;
    expect(cx).toBeGreaterThan(0.4);
    expect(cx).toBeLessThan(0.6);
    expect(bb.width / ib.width).toBeGreaterThan(0.12);
    expect(bb.width / ib.width).toBeLessThan(0.3);
  }
  // One indicator per check, named in Vietnamese, with its value, bound and verdict.
  const rows = page.locator('#face-checks li');
  await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(9);
  await expect(page.locator('#face-checks li[data-check="sharpness"] .check-name')).toHaveText('Độ nét');
  await expect(page.locator('#face-checks li[data-check="yaw"] .check-name')).toHaveText('Đầu quay ngang (độ)');
  await expect(page.locator('#face-checks li[data-check="yaw"] .check-bound')).toHaveText('tối đa 10.0');
  await expect(page.locator('#face-checks li[data-check="single_face"] .check-status')).toHaveText(/^(đạt|chưa đạt)$/);
  await shot(page, 'full-2-face-preview');

  // The preview updates in place: newer frames arrive, the rows stay the same elements, and the
  // head turns of the challenge change the yaw reading.
  await page.locator('#face-checks li[data-check="yaw"]').evaluate((el) => el.setAttribute('data-e2e-mark', '1'));
  const seq0 = Number(await preview.getAttribute('data-seq'));
  const yaws = new Set<string>();
  await expect
    .poll(
      async () => {
        const v = await page.locator('#face-checks li[data-check="yaw"] .check-value').textContent().catch(() => null);
        if (v) yaws.add(v);
        return yaws.size;
      },
      { timeout: 60_000, intervals: [100] },
    )
    .toBeGreaterThanOrEqual(3);
  expect(Number(await preview.getAttribute('data-seq'))).toBeGreaterThan(seq0);
  await expect(page.locator('#face-checks li[data-check="yaw"][data-e2e-mark="1"]')).toHaveCount(1);
  // The photo burst after the challenge: the phase says so.
  await expect(preview).toHaveAttribute('data-phase', 'capture', { timeout: 120_000 });
  await expect(page.locator('#face-preview-phase')).toHaveText('Chụp ảnh chân dung');

  // The capture ends: the preview goes away, the result stays.
  await expect(page.locator('#face-verdict')).toHaveText('Khuôn mặt khớp với ảnh trên chip.', { timeout: 150_000 });
  await expect(preview).toHaveCount(0);
  await page.locator('#logout').click();
  await expect(page.locator('h1')).toHaveText('Đăng nhập');
});
